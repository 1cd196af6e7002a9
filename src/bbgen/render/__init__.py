"""Rendering: Jinja2 templates → parsed objects → canonical YAML in an in-memory tree."""
