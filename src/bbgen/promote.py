"""`bbgen promote`: what one environment runs of a component or app, written for another, in the spec file.

Kargo promotes a piece of freight (an image, a chart version) from one stage to the
next; here the stages are the spec's environment layers and the freight is what the
``from`` environment *sees* for one component or app (its merged view, base plus
layer): by default its image (``version`` of a catalog component, ``image`` of an
app), with ``settings`` (an app's ``env``) or any other field on request.

Where the value is written, one rule: the ``to`` environment keeps its value where
it is written today.

* A field ``to``'s layer sets is changed in that layer.
* A field ``to`` inherits from the base is changed in the base when ``to`` is
  ``prod`` (the environment the base spec describes), and every other environment
  that inherited the old base value gets that value written into its own layer,
  so promoting to prod changes prod alone.
* A field another environment inherits is written into its layer (as is one
  prod's own layer brought in: the base has no entry to change).

A mapping (``settings``) is promoted key by key: keys ``from`` lacks become
``null`` in ``to``'s layer (or leave the base). The file is edited with ruamel's
round-trip mode, so comments, quoting and key order survive; the result is loaded
with the real loader, and every environment's merged view is compared with what
was intended (``to`` changed in the promoted fields only, every other environment
unchanged) before anything is written, atomically.
"""

from __future__ import annotations

import difflib
import io
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bbgen.errors import SpecError, UsageError
from bbgen.spec.edit import round_trip_yaml, same_style

BASE_ENV = "prod"
"""The environment the base spec describes (its domain is the platform's; renders put it in each base/)."""

IMAGE = "image"
"""The `--what` name of the image: ``version`` of a catalog component, ``image`` of an app."""

_MISSING = object()
Keys = tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Change:
    """One value promoted: where in the entry, the old and new value `to` sees, and where it was written."""

    field: str  # dotted, inside the entry (e.g. `version`, `settings.retention`)
    old: Any  # None when `to` had no value
    new: Any  # None when `to` loses the value
    written: list[str]  # dotted spec paths edited, `to`'s first, then the pins of other environments


@dataclass(kw_only=True)
class PromoteResult:
    """What a promotion changed (nothing when ``changes`` is empty) and the new spec text."""

    name: str
    kind: str  # "component" | "app"
    source: str
    target: str
    changes: list[Change] = field(default_factory=list)
    before: str = ""
    after: str = ""
    patch: list[str] = field(default_factory=list)  # unified diff of the spec file
    reformatted: bool = False  # the file does not survive a round trip unchanged: other lines change too (ruamel's layout)


def fields_for(kind: str, what: list[str], *, settings: bool) -> list[str]:
    """The YAML field names promoted for an entry of ``kind``; an unknown one is a usage error listing the known."""
    from bbgen.spec.models import ComponentSettings, CustomApp  # lazy
    from bbgen.spec.score import SCORE_KEY  # lazy

    model = ComponentSettings if kind == "component" else CustomApp
    # A Score file is the base's only (an environment layer cannot name one), so it is nothing to promote.
    known = [f.alias or n for n, f in model.model_fields.items() if (f.alias or n) != SCORE_KEY]
    wanted = list(what) + (["settings"] if settings else [])
    out: list[str] = []
    for name in wanted:
        if name == IMAGE:
            name = "version" if kind == "component" else "image"
        elif name == "settings" and kind == "app":
            name = "env"  # an app's settings are its environment variables
        if name not in known:
            raise UsageError(message=f"--what {name!r}: {'an app' if kind == 'app' else 'a component'} has no such field", hint=f"{IMAGE}, settings or one of {', '.join(known)}")
        if name not in out:
            out.append(name)
    return out


def promote(spec: Path, name: str, *, source: str, target: str, what: list[str], settings: bool = False) -> PromoteResult:
    """The promotion of ``name`` from ``source`` to ``target``, computed and checked; nothing is written here."""
    from bbgen.spec import load_platform  # lazy
    from bbgen.spec.loader import read_yaml  # lazy

    load_platform(spec)  # the spec as it is must be valid: a promotion does not repair it
    before = spec.read_text(encoding="utf-8")
    data = read_yaml(spec).data
    envs = _environments(data)
    for option, env in (("--from", source), ("--to", target)):
        if env not in envs:
            raise UsageError(message=f"{option} {env!r}: no such environment", hint=f"the spec has {', '.join(envs)}")
    if source == target:
        raise UsageError(message=f"--from and --to are both {source!r}", hint="promote between two environments")
    views = {env: _view(data, env) for env in envs}
    kind = _kind(views, name, source, target)
    base_key = "apps" if kind == "app" else "components"
    promoted = fields_for(kind, what, settings=settings)
    result = PromoteResult(name=name, kind=kind, source=source, target=target, before=before, after=before)
    wanted = {f: views[source][base_key][name].get(f, _MISSING) for f in promoted}
    diffs: list[tuple[Keys, Any, Any]] = []
    for f in promoted:
        _differences((f,), wanted[f], views[target][base_key][name].get(f, _MISSING), diffs)
    if not diffs:
        return result

    yaml = round_trip_yaml()
    tree = yaml.load(before)
    untouched = io.StringIO()
    yaml.dump(tree, untouched)
    result.reformatted = untouched.getvalue() != before
    for keys, new, old in diffs:
        written = _write(tree, data, views, envs, base_key, name, target, keys, new)
        result.changes.append(Change(field=".".join(keys), old=_plain(old), new=_plain(new), written=written))
    buffer = io.StringIO()
    yaml.dump(tree, buffer)
    result.after = buffer.getvalue()
    _check(spec, result.after, views, envs, base_key, name, target, wanted)
    result.patch = list(difflib.unified_diff(
        before.splitlines(), result.after.splitlines(), f"a/{spec.name}", f"b/{spec.name}", lineterm="",
    ))
    return result


def write(spec: Path, text: str) -> None:
    """Replace the spec with ``text`` atomically: staged beside it, then renamed over it."""
    from bbgen.render.write import stage  # lazy

    mode = spec.stat().st_mode & 0o777
    for tmp_path, target in stage({spec: text.encode("utf-8")}):
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, target)


def belongs_elsewhere(path: str, target: str, envs: list[str]) -> bool:
    """Whether a rendered file is another environment's (its overlay, apps, platform, bootstrap or values file)."""
    others = set(envs) - {target}
    parts = path.split("/")
    return any(p in others for p in parts[:-1]) or (parts[0] == "values" and parts[-1].removesuffix(".yaml") in others)


# --- views ----------------------------------------------------------------------------------


def _environments(data: dict[str, Any]) -> list[str]:
    from bbgen.spec.layers import environment_names  # lazy

    return environment_names(data)


def _view(data: dict[str, Any], env: str) -> dict[str, Any]:
    """Environment ``env``'s merged data (base plus its layer), `components` and `apps` always present."""
    from bbgen.spec._positions import PosNode  # lazy
    from bbgen.spec.layers import layered  # lazy

    merged, _ = layered(data, PosNode(), env)
    return {**merged, "components": merged.get("components") or {}, "apps": merged.get("apps") or {}}


def _kind(views: dict[str, dict[str, Any]], name: str, source: str, target: str) -> str:
    for env in (source, target):
        view = views[env]
        if name not in view["components"] and name not in view["apps"]:
            present = sorted(set(view["components"]) | set(view["apps"]))
            raise UsageError(message=f"{name!r}: no such component or app in environment {env}", hint=f"it has {', '.join(present)}")
    return "app" if name in views[source]["apps"] else "component"


def _differences(keys: Keys, new: Any, old: Any, out: list[tuple[Keys, Any, Any]]) -> None:
    """Each place the value ``old`` must change to become ``new``: mappings key by key, anything else whole."""
    if isinstance(new, dict) and isinstance(old, dict):
        for key in [*new, *(k for k in old if k not in new)]:
            _differences((*keys, key), new.get(key, _MISSING), old.get(key, _MISSING), out)
    elif new != old:
        out.append((keys, new, old))


def _plain(value: Any) -> Any:
    return None if value is _MISSING else value


def _at(node: Any, keys: tuple[Any, ...]) -> Any:
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def _inherits(layer_entry: Any, keys: Keys) -> bool:
    """Whether a layer's entry leaves ``keys`` to the base: every step a mapping or absent, the last absent."""
    node = layer_entry
    for key in keys:
        if node is _MISSING:
            return True
        if not isinstance(node, dict):
            return False
        node = node.get(key, _MISSING)
    return node is _MISSING


def _layer_entry(data: dict[str, Any], env: str, base_key: str, name: str) -> tuple[tuple[str, ...], Any]:
    """Where ``env``'s layer writes ``name`` (the key it already uses, `apps` winning as in the merge) and what it holds."""
    layer = _at(data, ("environments", env))
    for key in ("apps", "components") if base_key == "apps" else ("components",):
        found = _at(layer, (key, name))
        if found is not _MISSING:
            return ("environments", env, key, name), found
    return ("environments", env, base_key, name), _MISSING


# --- editing ----------------------------------------------------------------------------------


def _write(
    tree: Any, data: dict[str, Any], views: dict[str, dict[str, Any]], envs: list[str],
    base_key: str, name: str, target: str, keys: Keys, new: Any,
) -> list[str]:
    """Edit ``tree`` so ``target`` sees ``new`` at ``keys`` of the entry; the dotted paths written."""
    entry_path, entry = _layer_entry(data, target, base_key, name)
    if target != BASE_ENV or not _inherits(entry, keys) or not isinstance(_at(data, (base_key, name)), dict):
        base_has = _at(data, (base_key, name, *keys)) is not _MISSING
        _set(tree, (*entry_path, *keys), None if (new is _MISSING and base_has) else new)
        return [".".join((*entry_path, *keys))]
    written = [".".join((base_key, name, *keys))]
    old_base = _at(data, (base_key, name, *keys))
    _set(tree, (base_key, name, *keys), new)
    for env in envs:
        if env == target:
            continue
        pin_path, pin_entry = _layer_entry(data, env, base_key, name)
        if name not in views[env][base_key] or not _inherits(pin_entry, keys) or _plain(old_base) == _plain(new):
            continue
        _set(tree, (*pin_path, *keys), None if old_base is _MISSING else old_base)  # keeps what it ran
        written.append(".".join((*pin_path, *keys)))
    return written


def _set(tree: Any, path: tuple[str, ...], value: Any) -> None:
    """``tree`` at ``path`` becomes ``value`` (``_MISSING``: the key is removed); missing mappings are created."""
    from ruamel.yaml.comments import CommentedMap  # lazy

    node = tree
    for depth, key in enumerate(path[:-1]):
        child = node.get(key)
        if not isinstance(child, dict):
            if value is _MISSING:
                return
            for inner in reversed(path[depth + 1:]):  # the missing part built whole, then hung in at once
                value = CommentedMap([(inner, value)])
            _put(node, key, value)
            return
        node = child
    last = path[-1]
    if value is _MISSING:
        if last in node:
            tail = _last_leaf(node) if list(node)[-1] == last else None  # the deleted value holds the tail
            del node[last]
            after = _last_leaf(node)
            if tail is not None and after is not None:
                _move_tail(tail, after)
        return
    if last in node:
        node[last] = same_style(node[last], value)
    else:
        _put(node, last, value)


def _put(node: Any, key: str, value: Any) -> None:
    """A new key at the end of a mapping, the layout around it kept.

    An empty `{}` becomes a block. What ruamel keeps after the old last value (the
    blank lines and comments before the next section) moves after the new one;
    an end-of-line comment stays on its line.
    """
    if hasattr(node, "fa") and (not node or isinstance(value, dict)):  # a mapping grown inside `{...}` reads better as a block
        node.fa.set_block_style()
    previous = _last_leaf(node)
    node[key] = value
    if previous is not None:
        _move_tail(previous, _last_leaf(node) or (node, key))


def _move_tail(source: tuple[Any, Any], target: tuple[Any, Any]) -> None:
    """What follows ``source``'s value (blank lines, comments before the next key) moved after ``target``'s."""
    import copy

    owner, last = source
    token = owner.ca.items.get(last)
    if not token or len(token) < 3 or token[2] is None:
        return
    text = token[2].value
    keep, cut, rest = text.partition("\n") if text.startswith("#") else ("", "", text)
    if not rest:
        return
    moved = copy.copy(token[2])
    moved.value = rest
    if keep:
        token[2].value = keep + cut
    else:
        owner.ca.items[last] = [*token[:2], None, *token[3:]]
    existing = target[0].ca.items.get(target[1])
    if existing and len(existing) > 2 and existing[2] is not None:
        existing[2].value += rest
    else:
        target[0].ca.items[target[1]] = [None, None, moved, None]


def _last_leaf(node: Any) -> tuple[Any, Any] | None:
    """The mapping and key of the last scalar (or empty mapping) written under ``node``."""
    found = None
    while hasattr(node, "ca") and isinstance(node, dict) and node:
        key = list(node)[-1]
        found = (node, key)
        node = node[key]
    return found


# --- checking ---------------------------------------------------------------------------------


def _check(
    spec: Path, text: str, views: dict[str, dict[str, Any]], envs: list[str],
    base_key: str, name: str, target: str, wanted: dict[str, Any],
) -> None:
    """The edited text through the real loader, and every environment's view as intended; else nothing is written."""
    from bbgen.spec import load_platform  # lazy
    from bbgen.spec.loader import read_yaml  # lazy

    with tempfile.TemporaryDirectory(prefix="bbgen-promote-") as tmp:
        candidate = Path(tmp) / spec.name
        candidate.write_text(text, encoding="utf-8")
        try:
            load_platform(candidate, directory=spec.parent)  # its Score files and manifests are beside the spec
        except SpecError as exc:
            issues = "\n".join(str(replace(i, file=str(spec))) for i in exc.issues)
            raise UsageError(message=f"the promoted spec would be invalid, nothing written:\n{issues}") from None
        data = read_yaml(candidate).data
    for env in envs:
        expected = views[env]
        if env == target:
            entry = {k: v for k, v in expected[base_key][name].items() if k not in wanted}
            entry |= {k: v for k, v in wanted.items() if v is not _MISSING}
            expected = {**expected, base_key: {**expected[base_key], name: entry}}
        if _view(data, env) != expected:
            raise RuntimeError(f"promote: environment {env} would not see what was intended; nothing written")
