"""Rendering: determinism, ownership, the golden output-example/, and user strings that cannot break YAML."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import quote
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbgen.errors import OwnershipError
from bbgen.render.build import build_tree
from bbgen.render.paths import MANIFEST_PATH
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from bbgen.spec.models import Platform

from support import REFERENCE, ROOT


def _reference_tree() -> dict[str, bytes]:
    return build_tree(load_platform(REFERENCE)).with_manifest()


def test_render_twice_is_byte_identical(reference_files: Mapping[str, bytes]) -> None:
    """Two more renders in this process (the session's shared one is the first) are byte-identical to it."""
    assert _reference_tree() == _reference_tree() == dict(reference_files)


def test_every_file_is_canonical_yaml_with_labels(reference_files: Mapping[str, bytes]) -> None:
    for path, data in reference_files.items():
        if not path.endswith(".yaml"):
            continue
        doc = yaml.safe_load(data)
        if path.startswith(("values/", ".gitea/")) or path.endswith("kustomization.yaml"):
            continue  # Helm values, kustomizations and the CI workflow are not Kubernetes objects
        labels = doc["metadata"]["labels"]
        for key in ("name", "instance", "part-of", "managed-by"):
            assert f"app.kubernetes.io/{key}" in labels, (path, key)
        assert list(doc)[:3] == ["apiVersion", "kind", "metadata"], path


def test_output_example_is_current(reference_files: Mapping[str, bytes]) -> None:
    """output-example/ is the reference render; on drift, show the diff and how to refresh it."""
    expected = reference_files
    example = ROOT / "output-example"
    actual = {p.relative_to(example).as_posix(): p.read_bytes() for p in example.rglob("*") if p.is_file()}
    problems: list[str] = []
    for path in sorted(set(expected) | set(actual)):
        if path not in actual:
            problems.append(f"missing: {path}")
        elif path not in expected:
            problems.append(f"not rendered any more: {path}")
        elif expected[path] != actual[path]:
            problems.extend(
                difflib.unified_diff(
                    actual[path].decode().splitlines(),
                    expected[path].decode().splitlines(),
                    f"output-example/{path}",
                    f"render/{path}",
                    lineterm="",
                )
            )
    assert not problems, "output-example/ is stale; refresh with `bbgen render profiles/betelgeuse.yaml --out output-example`\n" + "\n".join(problems[:200])


def test_ownership_lifecycle(tmp_path: Path, write_spec: Callable[..., Path]) -> None:
    spec = write_spec(REFERENCE.read_text())
    out = tmp_path / "out"
    tree = build_tree(load_platform(spec))
    first = write_tree(tree, out)
    assert first.written and not first.unchanged and not first.removed
    (out / "NOTES.md").write_text("mine\n")
    (out / "components" / "extra.yaml").write_text("mine too\n")

    again = write_tree(build_tree(load_platform(spec)), out)
    assert again.written == [] and again.removed == []
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    text = REFERENCE.read_text().replace("  qdrant:\n    storage: 100Gi\n", "  qdrant:\n    enabled: false\n")
    text = text.replace("      - qdrant\n", "")  # the orchestrator's dependency on it
    spec.write_text(text)
    third = write_tree(build_tree(load_platform(spec)), out)
    assert any(p.startswith("components/qdrant/") for p in third.removed)
    assert not (out / "components" / "qdrant").exists()
    assert (out / "NOTES.md").read_text() == "mine\n"
    assert (out / "components" / "extra.yaml").read_text() == "mine too\n"
    unchanged_file = out / "components" / "redis" / "base" / "statefulset-redis.yaml"
    assert unchanged_file.stat().st_mtime_ns == mtimes[unchanged_file]


def test_refuses_to_overwrite_unowned_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "projects" / "prod").mkdir(parents=True)
    (out / "projects" / "prod" / "kustomization.yaml").write_text("hand written\n")
    for adopt, why in ((False, "holds no bbgen manifest"), (True, "does not own")):
        with pytest.raises(OwnershipError, match=why):
            write_tree(build_tree(load_platform(REFERENCE)), out, adopt=adopt)
        assert (out / "projects" / "prod" / "kustomization.yaml").read_text() == "hand written\n"
        assert sorted(p.name for p in out.rglob("*")) == ["kustomization.yaml", "prod", "projects"]
        assert not (out / MANIFEST_PATH).exists()


# --- user strings never change document structure -------------------------------------------

PLACE = [f"zqxplace{i}zqx" for i in range(8)]


def _spec_with(values: list[str]) -> Platform:
    data: dict[str, Any] = yaml.safe_load(REFERENCE.read_text())
    app = data["apps"]["orchestrator"]
    app["env"] = [{"name": "FREE_TEXT", "value": values[0]}]
    app["image"] = f"registry.example.org/{values[1]}:1"
    app["healthPath"] = f"/{values[2]}"
    app["basicAuth"] = {"enabled": True, "realm": values[3]}
    data["components"]["redis"] = {"settings": {"maxMemoryPolicy": values[4]}}
    app["secretEnv"] = [{"name": "API_KEY", "secret": "api-keys", "key": values[5]}]
    data["storage"]["provisioner"] = values[6]
    data["components"]["postgres"]["version"] = values[7]
    return Platform.model_validate(data)


def _parse(data: bytes) -> list[Any]:
    """One YAML file's documents, with each kustomization patch (YAML in a string) parsed too."""
    docs = list(yaml.safe_load_all(data))
    for doc in docs:
        for patch in doc.get("patches", []) if isinstance(doc, dict) else []:
            patch["patch"] = yaml.safe_load(patch["patch"])
    return docs


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


@dataclass(frozen=True)
class _Baseline:
    files: dict[str, bytes]
    """The render of the spec with a placeholder in every user string."""
    parsed: dict[str, list[Any]]
    """The YAML files that carry a placeholder, parsed: where user strings land."""


@pytest.fixture(scope="module")
def baseline() -> _Baseline:
    """Built once: each example below renders only its own spec and compares against this."""
    files = build_tree(_spec_with(PLACE)).files
    parsed = {path: _parse(data) for path, data in files.items() if path.endswith(".yaml")}
    carrying = {path: docs for path, docs in parsed.items() if any(p in s for s in _strings(docs) for p in PLACE)}
    landed = {p for docs in carrying.values() for s in _strings(docs) for p in PLACE if p in s}
    assert landed == set(PLACE), f"user strings that reach no YAML file: {sorted(set(PLACE) - landed)}"
    return _Baseline(files=files, parsed=carrying)


def _substitute(node: Any, mapping: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, mapping) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, mapping) for v in node]
    if isinstance(node, str):
        for placeholder, value in mapping.items():
            node = node.replace(placeholder, value)
    return node


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),
    min_size=1,
    max_size=40,
).filter(lambda s: "zqx" not in s)
_tricky = st.sampled_from(["a: b", "# c", "'\"", "x\ny", "{{ q }}", "- item", "*alias", "&anchor", "!!python/object", "yes", "0755", "~", "", " lead", "trail ", "\u2028", "\x85", "é漢字🙂"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_text, _tricky), min_size=len(PLACE), max_size=len(PLACE)))
def test_user_strings_never_change_structure(baseline: _Baseline, values: list[str]) -> None:
    values = [v if v else "x" for v in values]
    # The image, health path and Secret key are refused unless well-formed (tests/spec/test_semantics.py):
    # here they carry what their grammar allows of the string.
    values[1] = "".join(ch for ch in values[1] if ch in "abcdefghijklmnopqrstuvwxyz0123456789") or "x"
    values[2] = quote(values[2], safe="")
    values[5] = "".join(ch for ch in values[5] if ch.isascii() and (ch.isalnum() or ch in "-._")) or "x"
    values[0] = values[0].replace("\x00", "") or "x"  # a NUL in an env value is refused (tests/test_env_hygiene.py)
    actual = build_tree(_spec_with(values)).files
    assert set(actual) == set(baseline.files)
    mapping = dict(zip(PLACE, values))
    mapping[PLACE[0]] = values[0].replace("$", "$$")  # env values are written with `$` doubled, so the kubelet expands nothing
    for path, data in actual.items():
        if not path.endswith(".yaml"):
            continue
        if path in baseline.parsed:
            assert _parse(data) == _substitute(baseline.parsed[path], mapping), path
        elif data != baseline.files[path]:  # no user string lands here: the documents must stay as they were
            assert _parse(data) == _parse(baseline.files[path]), path
