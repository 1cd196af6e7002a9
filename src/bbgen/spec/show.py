"""One environment's merged spec, printed with where each value was written (`bbgen spec --env`).

Layering is only trustworthy when it is visible: the person asks "what does
staging actually get?" and reads the answer with every value's ``file:line``,
so a value inherited from the base and one a layer brought in look different.
Only what the file writes is shown (defaults stay out): the merged text is what
the person would have written for this environment alone.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbgen.errors import UsageError
from bbgen.spec._messages import format_path
from bbgen.spec._positions import LoadedYaml, Path_


@dataclass(frozen=True)
class MergedSpec:
    """Environment ``env``'s spec as written (base with its layer applied) and where each value came from."""

    env: str
    loaded: LoadedYaml

    def where(self, path: Path_) -> str | None:
        """``file:line`` of the value at ``path``, with the layer it came from when not the base."""
        pos = self.loaded.positions.value(path) or self.loaded.positions.key(path)
        if pos is None:
            return None
        written = self.loaded.positions.origin(path)
        layer = f" ({format_path(written[:2])})" if written[:1] == ("environments",) and path[:1] != ("environments",) else ""
        return f"{self.loaded.file_at(path)}:{pos[0]}{layer}"

    def origins(self) -> dict[str, str]:
        """Dotted path → ``file:line:col`` for every scalar or list value (for `-o json`)."""
        out: dict[str, str] = {}

        def walk(value: Any, path: Path_) -> None:
            if isinstance(value, dict) and value:
                for key, child in value.items():
                    walk(child, (*path, key))
                return
            pos = self.loaded.positions.value(path) or self.loaded.positions.key(path)
            if pos is not None:
                out[format_path(self.loaded.positions.origin(path))] = f"{self.loaded.file_at(path)}:{pos[0]}:{pos[1]}"

        walk(self.loaded.data, ())
        return out

    def yaml(self) -> str:
        """The merged spec as YAML, each value followed by ``# file:line``."""
        from ruamel.yaml import YAML
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        def build(value: Any, path: Path_) -> Any:
            if isinstance(value, dict):
                out = CommentedMap()
                for key, child in value.items():
                    out[key] = build(child, (*path, key))
                    if not (isinstance(child, (dict, list)) and child):
                        note = self.where((*path, key))
                        if note is not None:
                            out.yaml_add_eol_comment(note, key)
                return out
            if isinstance(value, list):
                seq = CommentedSeq()
                for index, child in enumerate(value):
                    seq.append(build(child, (*path, index)))
                    if not isinstance(child, (dict, list)):
                        note = self.where((*path, index))
                        if note is not None:
                            seq.yaml_add_eol_comment(note, index)
                return seq
            return value

        writer = YAML()
        writer.default_flow_style = False
        writer.width = 4096
        buffer = io.StringIO()
        writer.dump(build(self.loaded.data, ()), buffer)
        return buffer.getvalue()


def merged_spec(path: Path, env: str) -> MergedSpec:
    """Validate the whole spec (every environment), then environment ``env``'s merged text."""
    from bbgen.spec import load_platform
    from bbgen.spec.layers import layered_yaml
    from bbgen.spec.loader import read_yaml

    platform = load_platform(path)
    if env not in platform.environments:
        raise UsageError(message=f"--env {env!r}: the spec has {', '.join(sorted(platform.environments))}")
    from bbgen.catalog import load_catalog  # lazy
    from bbgen.spec.score import expand_scores  # lazy

    merged = layered_yaml(expand_scores(read_yaml(path), path.parent, load_catalog()), env)
    data = dict(merged.data)  # a copy: only this environment is listed
    environments = data.get("environments")
    if isinstance(environments, dict):
        data["environments"] = {env: environments[env]}
    return MergedSpec(env=env, loaded=LoadedYaml(file=merged.file, data=data, positions=merged.positions))

