"""Environment layers: ``environments.<env>`` written over the base spec, on the raw data.

An environment may override any field of a component or app and the blocks that
belong to its cluster (see :data:`LAYER_KEYS`). Three rules, no more:

* mappings merge deeply (a layer names only what it changes);
* anything else, lists included, replaces the base value (a layer's
  ``storage.volumes`` is that environment's whole list);
* ``null`` removes the key (the field falls back to its default).

The merge runs on the plain data read from YAML, before pydantic, and carries the
positions along: a value a layer brings in keeps that layer's line and column and
remembers the path it was written at (:attr:`PosNode.source`). So validating and
cross-checking one environment's merged spec reports a mistake in a layer as
``file:line:col: environments.dev.components.x.y: ...``, where the person wrote it.

``environments.<env>.components.<name>`` addresses a custom app too when ``name``
is one of ``apps`` (the shape that held replicas and resources for both before
layers); ``environments.<env>.apps.<name>`` says the same explicitly.
"""

from __future__ import annotations

from typing import Any

from bbgen.spec._positions import LoadedYaml, Path_, PosNode, Positions

LAYER_KEYS = ("components", "apps", "nodePools", "storage", "ingress", "kubernetesVersion", "backups")
"""The YAML keys of ``environments.<env>`` that are layered over the top-level key of the same name."""


def _graft(node: PosNode | None, source: Path_) -> PosNode:
    """``node`` (a layer's subtree) placed in the merged tree, remembering where it was written."""
    if node is None:
        return PosNode(source=source)
    return PosNode(key=node.key, value=node.value, children=node.children, source=source)


def merge(base: Any, over: Any, base_pos: PosNode | None, over_pos: PosNode | None, source: Path_) -> tuple[Any, PosNode]:
    """``over`` (written at ``source``) layered on ``base``: the merged value and its positions."""
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return over, _graft(over_pos, source)
    out = dict(base)
    # A mapping both sides write is the base's (its unchanged children were written there); only what the
    # layer brings in, replaced or added, carries the layer's path.
    node = PosNode(
        key=(base_pos.key if base_pos else None) or (over_pos.key if over_pos else None),
        value=(base_pos.value if base_pos else None) or (over_pos.value if over_pos else None),
        children=dict(base_pos.children) if base_pos else {},
        # A base mapping taken from a Score file stays located there.
        source=base_pos.source if base_pos else None,
        file=base_pos.file if base_pos else None,
    )
    for key, value in over.items():
        _merge_into(out, node, key, value, over_pos.children.get(key) if over_pos else None, (*source, key))
    return out, node


def _merge_into(parent: dict[str, Any], parent_pos: PosNode, key: str, value: Any, value_pos: PosNode | None, source: Path_) -> None:
    if value is None:
        parent.pop(key, None)
        parent_pos.children.pop(key, None)
        return
    merged, pos = merge(parent.get(key), value, parent_pos.children.get(key), value_pos, source)
    parent[key] = merged
    parent_pos.children[key] = pos


def _own(parent: dict[str, Any], parent_pos: PosNode, key: str) -> tuple[dict[str, Any], PosNode]:
    """A copy of the mapping at ``parent[key]`` (created if absent) that the merge may change."""
    current = parent.get(key)
    parent[key] = dict(current) if isinstance(current, dict) else {}
    old = parent_pos.children.get(key)
    parent_pos.children[key] = PosNode(key=old.key, value=old.value, children=dict(old.children)) if old else PosNode()
    return parent[key], parent_pos.children[key]


def layered(data: dict[str, Any], root: PosNode, env: str) -> tuple[dict[str, Any], PosNode]:
    """The spec as environment ``env`` writes it: its layer applied, every environment's layer keys removed.

    ``data`` has passed validation as a whole (so every layer is a mapping where
    one is expected); the result is validated again as that environment's spec.
    """
    out = dict(data)
    out_pos = PosNode(key=root.key, value=root.value, children=dict(root.children))
    environments = data.get("environments")
    if not isinstance(environments, dict):
        return out, out_pos
    layer = environments.get(env) or {}
    env_pos = root.children.get("environments")
    layer_pos = env_pos.children.get(env) if env_pos else None
    apps = data.get("apps") or {}
    for key in LAYER_KEYS:
        if key not in layer:
            continue
        value, source = layer[key], ("environments", env, key)
        pos = layer_pos.children.get(key) if layer_pos else None
        if key in ("components", "apps"):
            for name, entry in (value or {}).items():
                target = "apps" if key == "apps" or name in apps else "components"
                block, block_pos = _own(out, out_pos, target)
                _merge_into(block, block_pos, name, entry, pos.children.get(name) if pos else None, (*source, name))
        else:
            _merge_into(out, out_pos, key, value, pos, source)
    out["environments"] = {
        name: {k: v for k, v in e.items() if k not in LAYER_KEYS} if isinstance(e, dict) else e
        for name, e in environments.items()
    }
    return out, out_pos


def layered_yaml(loaded: LoadedYaml, env: str) -> LoadedYaml:
    """:func:`layered` on a loaded file: positions and error paths lead back to each layer's lines."""
    data, pos = layered(loaded.data, loaded.positions.root, env)
    return LoadedYaml(file=loaded.file, data=data, positions=Positions(pos))


def environment_names(data: Any) -> list[str]:
    """The environments a validated spec's data declares (just `prod` when it writes none)."""
    environments = data.get("environments") if isinstance(data, dict) else None
    return list(environments) if isinstance(environments, dict) else ["prod"]
