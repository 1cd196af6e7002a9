"""Values keys a chart does not declare: settings that look applied but that the chart never reads.

Helm ignores unknown values keys (unless the chart's ``values.schema.json`` forbids
them), so a misspelt or removed key passes every render silently. A key counts as
declared when one of these says so:

* the chart's ``values.yaml`` has it (its defaults are the chart's documented interface);
* its ``values.schema.json`` lists it (``properties``), or allows any key at that level
  (``additionalProperties`` not false, ``patternProperties`` matching);
* a template reads it by its full path (``.Values.a.b.c``), for keys documented only in comments.

Below a declared key, the walk goes on only while the default is a non-empty map. A
default of ``{}`` is a free-form map by the chart's own declaration (``podAnnotations``,
``nodeSelector``, ``extraEnv``-style maps, ``resources``); a list, a scalar or ``null``
is a leaf whose inside the chart does not describe. ``global`` is shared with every
subchart and never checked, nor is a key holding ``.`` or ``/`` (no template can read
it as a field: it is data of a map, like ``configs.params."server.insecure"``); a key naming a subchart (its name or alias) is checked
against that subchart's own values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbgen.kube import yamlio

_MAX_TEMPLATE_BYTES = 8 * 1024 * 1024


@dataclass(kw_only=True)
class ChartInterface:
    """What a chart tree declares: its defaults, its schema, its templates' text and its subcharts."""

    defaults: dict[str, Any]
    schema: dict[str, Any] | None
    templates: str
    subcharts: dict[str, ChartInterface] = field(default_factory=dict)


def _load_yaml(path: Path) -> Any:
    try:
        return yamlio.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yamlio.YAMLError):
        return None


def load_interface(chart: Path) -> ChartInterface:
    """Read ``chart``'s values.yaml, values.schema.json, templates and unpacked subcharts (``charts/<dir>``)."""
    defaults = _load_yaml(chart / "values.yaml")
    schema: dict[str, Any] | None = None
    try:
        loaded = json.loads((chart / "values.schema.json").read_text(encoding="utf-8"))
        schema = loaded if isinstance(loaded, dict) else None
    except (OSError, UnicodeDecodeError, ValueError):
        schema = None
    parts: list[str] = []
    size = 0
    for path in sorted((chart / "templates").rglob("*")) if (chart / "templates").is_dir() else []:
        if path.is_file() and size < _MAX_TEMPLATE_BYTES:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            size += len(text)
            parts.append(text)
    subcharts: dict[str, ChartInterface] = {}
    meta = _load_yaml(chart / "Chart.yaml")
    aliases = {}
    for dep in meta.get("dependencies") or [] if isinstance(meta, dict) else []:
        if isinstance(dep, dict) and dep.get("name"):
            aliases[str(dep["name"])] = str(dep.get("alias") or dep["name"])
    for sub_dir in sorted((chart / "charts").iterdir()) if (chart / "charts").is_dir() else []:
        sub_meta = _load_yaml(sub_dir / "Chart.yaml") if sub_dir.is_dir() else None
        if isinstance(sub_meta, dict) and sub_meta.get("name"):
            name = str(sub_meta["name"])
            subcharts[aliases.get(name, name)] = load_interface(sub_dir)
    return ChartInterface(defaults=defaults if isinstance(defaults, dict) else {}, schema=schema, templates="\n".join(parts), subcharts=subcharts)


def _resolve(node: Any, root: dict[str, Any]) -> dict[str, Any]:
    """A schema node with local ``$ref``s followed and ``allOf``/``anyOf``/``oneOf`` properties merged in."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/") and seen < 20:
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
        node, seen = target, seen + 1
    if not isinstance(node, dict):
        return {}
    merged = dict(node)
    props = dict(node.get("properties") or {}) if isinstance(node.get("properties"), dict) else {}
    for key in ("allOf", "anyOf", "oneOf"):
        for part in node.get(key) or [] if isinstance(node.get(key), list) else []:
            resolved = _resolve(part, root)
            if isinstance(resolved.get("properties"), dict):
                props.update(resolved["properties"])
            if "additionalProperties" in resolved and resolved["additionalProperties"] is not False:
                merged["additionalProperties"] = resolved["additionalProperties"]
    merged["properties"] = props
    return merged


def _schema_child(node: dict[str, Any] | None, key: str, root: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    """(declared?, the child's schema node or None for "anything goes")."""
    if node is None:
        return False, None
    props = node.get("properties") or {}
    if key in props:
        child = _resolve(props[key], root)
        return True, child if child.get("properties") or child.get("additionalProperties") is False else None
    for pattern, sub_schema in (node.get("patternProperties") or {}).items():
        try:
            if re.search(str(pattern), key):
                return True, None
        except re.error:
            continue
    extra = node.get("additionalProperties")
    if extra is False:
        return False, None
    if isinstance(extra, dict) or extra is True:
        return True, None
    # No additionalProperties keyword: JSON Schema allows anything, but only a node that lists
    # no properties at all means "free-form"; one that lists some describes its keys.
    return not props, None


def undeclared(values: dict[str, Any], chart: ChartInterface) -> list[str]:
    """Dotted paths of the keys in ``values`` that ``chart`` does not declare, in document order."""
    root = chart.schema or {}
    return _walk(values, chart.defaults, _resolve(root, root) if chart.schema else None, root, [], chart, top=True)


def _walk(
    values: dict[str, Any], defaults: Any, schema: dict[str, Any] | None, root: dict[str, Any], path: list[str], chart: ChartInterface, *, top: bool
) -> list[str]:
    out: list[str] = []
    for key, value in values.items():
        key = str(key)
        here = [*path, key]
        if (top and key == "global") or "." in key or "/" in key:
            continue  # shared with subcharts; or a key no template can read as a field: data of a map
        if top and key in chart.subcharts:
            if isinstance(value, dict):
                sub = chart.subcharts[key]
                sub_defaults = {**sub.defaults, **(defaults.get(key) if isinstance(defaults.get(key), dict) else {})}
                sub_root = sub.schema or {}
                found = _walk(value, sub_defaults, _resolve(sub_root, sub_root) if sub.schema else None, sub_root, [], sub, top=True)
                out += [f"{key}.{p}" for p in found]
            continue
        in_defaults = isinstance(defaults, dict) and key in defaults
        in_schema, child_schema = _schema_child(schema, key, root)
        if not in_defaults and not in_schema and not _read_by_template(chart.templates, here):
            out.append(".".join(here))
            continue
        child_defaults = defaults.get(key) if in_defaults and isinstance(defaults, dict) else None
        structured = isinstance(child_defaults, dict) and bool(child_defaults) and not _flat_config(child_defaults)
        if structured and _passed_through(chart.templates, here):
            continue
        if isinstance(value, dict) and (structured or child_schema is not None):
            out += _walk(value, child_defaults if structured else {}, child_schema, root, here, chart, top=False)
    return out


def _flat_config(defaults: dict[str, Any]) -> bool:
    """Keys like ``server.insecure`` or ``example.com/x``: the map is data (a ConfigMap's, annotations), not structure."""
    return any("." in str(k) or "/" in str(k) for k in defaults)


def _passed_through(templates: str, path: list[str]) -> bool:
    """Does a template hand the whole map to Kubernetes (``toYaml .Values.a.b``, or ``with .Values.a.b`` … ``toYaml .``)?

    Then its keys are those of the Kubernetes field it fills (``resources``, ``affinity``
    …), whatever example the defaults show.
    """
    ref = r"\(?\$?\.Values\." + re.escape(".".join(path)) + r"(?![A-Za-z0-9_.])"
    if re.search(r"toYaml\s+" + ref, templates):
        return True
    block = r"\{\{-?\s*with\s+" + ref + r"\s*-?\}\}(?:(?!\{\{-?\s*end).){0,400}?toYaml\s+\.(?![A-Za-z0-9_.])"
    return re.search(block, templates, re.DOTALL) is not None


def _read_by_template(templates: str, path: list[str]) -> bool:
    dotted = re.escape(".Values." + ".".join(path))
    return re.search(dotted + r"(?![A-Za-z0-9_])", templates) is not None
