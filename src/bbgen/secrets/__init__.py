"""Secrets that never touch git.

The GitOps repository is readable by everyone with access to Gitea, so it holds
only references to Secrets. This package knows which Secrets an enabled platform
needs (``inventory``), makes them outside the repository (``generate``, with
``htpasswd`` for basic auth), and refuses any render, validation or push that
would put a value into git (``guard``, with the string detectors in ``detect``).
"""
