"""Score workloads as custom apps: `apps.<name>.score: path/to/score.yaml` becomes that app's workload fields.

Application teams keep one ``score.yaml`` (the CNCF Score workload specification,
``score.dev/v1b1``) beside their code; the platform team points an app at it. The
file is turned into the raw app mapping the spec would hold, *with positions*, before
pydantic sees the spec, so validation, the cross-field checks, environment layers and
rendering treat it exactly like an app written out by hand, and every mistake (a bad
image, an unknown variable name, a resource bbgen cannot provide) is reported at the
Score file's own ``FILE:LINE:COL`` and path.

What the Score file says wins; fields Score has no say in (namespace, replicas, kind,
resources of the platform, ...) stay in the spec beside ``score:``. ``image`` and
``host`` may be given there too and then win: Score's ``image: .`` means "the image
this repository builds", which only the platform knows, and host names are the
platform's. ``dependsOn`` and ``env`` given there are added after the Score file's (a
dependency on another app, a variable Score cannot express). Any other field set on
both sides is an error, so nothing is silently overridden. The mapping of each Score part lives in :mod:`bbgen.spec._score_map`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bbgen.errors import SpecError, SpecIssue
from bbgen.spec._messages import finish, issue_at
from bbgen.spec._positions import LoadedYaml, Path_, PosNode, Positions

if TYPE_CHECKING:
    from bbgen.catalog import AnyComponent

SCORE_KEY = "score"

# Fields the spec may set beside `score:` although the Score file also gives them: the spec's value wins.
PLATFORM_WINS = ("image", "host")
# Lists the spec may extend beside `score:` (a dependency or variable Score cannot express): the Score file's first.
PLATFORM_ADDS = ("dependsOn", "env")


def expand_scores(loaded: LoadedYaml, directory: Path, catalog: dict[str, AnyComponent]) -> LoadedYaml:
    """``loaded`` with every ``apps.<name>.score`` file turned into that app's fields (positions in the Score file).

    Raises SpecError with every located problem of every Score file at once; returns ``loaded`` itself
    when no app names one, so specs without Score are untouched.
    """
    apps = loaded.data.get("apps") if isinstance(loaded.data, dict) else None
    if not isinstance(apps, dict) or not any(isinstance(e, dict) and SCORE_KEY in e for e in apps.values()):
        return loaded
    root = loaded.positions.root
    apps_pos = root.children.get("apps") or PosNode()
    new_apps: dict[str, Any] = dict(apps)
    new_apps_pos = PosNode(key=apps_pos.key, value=apps_pos.value, children=dict(apps_pos.children),
                           source=apps_pos.source, file=apps_pos.file)
    issues: list[SpecIssue] = []
    for name, entry in apps.items():
        if not (isinstance(entry, dict) and SCORE_KEY in entry):
            continue
        try:
            data, pos = _expand_app(loaded, name, entry, directory, catalog)
        except SpecError as err:
            issues.extend(err.issues)
            continue
        new_apps[name] = data
        new_apps_pos.children[name] = pos
    if issues:
        raise SpecError(issues=finish(issues))
    new_root = PosNode(key=root.key, value=root.value, children={**root.children, "apps": new_apps_pos})
    return LoadedYaml(file=loaded.file, data={**loaded.data, "apps": new_apps}, positions=Positions(new_root))


def _expand_app(
    loaded: LoadedYaml, name: str, entry: dict[str, Any], directory: Path, catalog: dict[str, AnyComponent],
) -> tuple[dict[str, Any], PosNode]:
    """One app entry with its Score file's fields merged in (spec's own fields kept, conflicts refused)."""
    from bbgen.spec._score_map import Mapper
    from bbgen.spec.loader import read_yaml, validate_model
    from bbgen.spec.score_model import API_VERSION, Workload

    at = ("apps", name, SCORE_KEY)
    written = entry[SCORE_KEY]
    if not isinstance(written, str) or not written.strip():
        raise SpecError(issues=[_spec_issue(loaded, at, "must be the path of a Score file (relative to the spec file)")])
    path = directory / written
    display = written if os.path.isabs(written) else os.path.normpath(os.path.join(os.path.dirname(loaded.file), written))
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "not found"
        raise SpecError(issues=[_spec_issue(loaded, at, f"Score file {display} {what} (the path is relative to the spec file)")])
    score_yaml = read_yaml(path, display_name=display)
    version = score_yaml.data.get("apiVersion")
    if version != API_VERSION:
        where = ("apiVersion",)
        message = "is missing" if version is None else f"{version!r} is not a Score version bbgen reads"
        at_version = score_yaml.positions.value(where) or (1, 1)
        raise SpecError(issues=[issue_at(score_yaml.file, at_version, where, f"{message}; use {API_VERSION}")])
    workload = validate_model(Workload, score_yaml)
    mapper = Mapper(app=name, workload=workload, score=score_yaml, score_dir=path.parent, catalog=catalog)
    generated, gen_pos, defaults = mapper.run()
    issues = list(mapper.issues)
    entry_pos = loaded.positions.root.children["apps"].children[name]
    data: dict[str, Any] = {}
    pos = PosNode(key=entry_pos.key, value=entry_pos.value, source=entry_pos.source, file=entry_pos.file)
    for key, value in entry.items():  # the spec's own fields, in its order
        if key in generated and key in PLATFORM_ADDS and isinstance(value, list):
            generated[key], gen_pos[key] = _extended(
                generated[key], gen_pos[key], value, entry_pos.children.get(key), ("apps", name, key))
            continue
        if key in generated and key not in PLATFORM_WINS:
            issues.append(_spec_issue(loaded, ("apps", name, key), (
                f"is given by the Score file {display}; set it there or remove it here (beside `score:` only "
                f"{', '.join(PLATFORM_WINS)} may override the Score file, and {', '.join(PLATFORM_ADDS)} add to it)"
            ), key_of=True))
            continue
        data[key] = value
        if key in entry_pos.children:
            pos.children[key] = entry_pos.children[key]
    for key, value in generated.items():
        if key not in data:
            data[key] = value
            pos.children[key] = gen_pos[key]
    for key, (value, node) in defaults.items():
        if key not in data:
            data[key] = value
            pos.children[key] = node
    if "image" not in data and mapper.image_is_local:
        issues.append(mapper.error(mapper.image_path, (
            "`.` stands for the image built from the workload's repository, which bbgen cannot know: "
            "set `image:` beside `score:` in the spec (e.g. registry.example.org/team/api:1.4.2)"
        )))
    if issues:
        raise SpecError(issues=issues)
    return data, pos


def _extended(
    score: list[Any], score_pos: PosNode, spec: list[Any], spec_pos: PosNode | None, at: Path_,
) -> tuple[list[Any], PosNode]:
    """The Score file's list followed by the spec's items (a duplicate is left to the checks, located on both sides)."""
    out = [*score, *(item for item in spec if item not in score)]
    node = PosNode(key=score_pos.key, value=score_pos.value, children=dict(score_pos.children), source=score_pos.source, file=score_pos.file)
    index = len(score)
    for i, item in enumerate(spec):
        if item in score:
            continue
        if spec_pos is not None and i in spec_pos.children:
            # Re-numbered in the merged list, so it remembers where the spec wrote it (source, in the spec's own file).
            item_pos = spec_pos.children[i]
            node.children[index] = PosNode(key=item_pos.key, value=item_pos.value, children=item_pos.children, source=(*at, i))
        index += 1
    return out, node


def _spec_issue(loaded: LoadedYaml, path: Path_, message: str, *, key_of: bool = False) -> SpecIssue:
    pos = (loaded.positions.key(path) if key_of else None) or loaded.positions.locate(path)
    return issue_at(loaded.file_at(path), pos, loaded.positions.origin(path), message)
