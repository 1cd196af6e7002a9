"""A ConfigMap change rolls exactly the pods that read it (`checksum/config`, render/checksums.py).

Two renders of the reference profile, the second changing one ConfigMap in every
environment (a top-level patch) and another in staging only (an environment's
patch). Each environment's overlay is built with the real kustomize, so what is
compared is what Argo CD would apply: the base's checksum and the overlay's.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen.kube import objects
from bbgen.render.build import build_tree
from bbgen.render.checksums import ANNOTATION, content_digest, referenced
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from support import REFERENCE

pytestmark = pytest.mark.skipif(shutil.which("kustomize") is None, reason="kustomize not installed")

Key = tuple[str, str, str, str]  # env, kind, namespace, name


def _patch(name: str, key: str, text: str) -> dict[str, Any]:
    return {"target": {"kind": "ConfigMap", "name": name}, "patch": {"data": {key: text}}}


def _render(tmp: Path, change: bool) -> Path:
    spec = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    if change:
        spec["components"]["grafana"] = {**(spec["components"]["grafana"] or {}), "patches": [_patch("grafana-datasources", "extra.yaml", "x: 1\n")]}
        staging = spec["environments"]["staging"].setdefault("components", {})
        staging["loki"] = {"patches": [_patch("loki-config", "extra.yaml", "x: 2\n")]}
    tmp.mkdir()
    path = tmp / "platform.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    out = tmp / "out"
    write_tree(build_tree(load_platform(path)), out)
    return out


def _built(out: Path) -> dict[Key, dict[str, Any]]:
    """Every object kustomize builds from every component's environment overlay."""
    found: dict[Key, dict[str, Any]] = {}
    for overlay in sorted(out.glob("components/*/overlays/*")):
        run = subprocess.run(["kustomize", "build", str(overlay)], capture_output=True, text=True, timeout=120, check=True)
        for doc in yaml.safe_load_all(run.stdout):
            if isinstance(doc, dict):
                meta = doc["metadata"]
                found[(overlay.name, doc["kind"], meta.get("namespace", ""), meta["name"])] = doc
    return found


def _templates(built: dict[Key, dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    out = {}
    for key, doc in built.items():
        pod = objects.pod_template(doc)
        if pod is not None:
            holder: Any = doc
            for part in pod.path[:-1]:
                holder = holder[part]
            out[key] = holder
    return out


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[Key, dict[str, Any]], dict[Key, dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("checksums")
    return _built(_render(tmp / "a", False)), _built(_render(tmp / "b", True))


def test_a_config_map_change_rolls_exactly_its_readers(renders: tuple[dict[Key, dict[str, Any]], dict[Key, dict[str, Any]]]) -> None:
    before, after = copy.deepcopy(renders)
    old, new = _templates(before), _templates(after)
    assert set(old) == set(new)
    changed = sorted(key for key in old if old[key] != new[key])
    assert changed == [
        ("prod", "Deployment", "observability", "grafana"),
        ("staging", "Deployment", "observability", "grafana"),
        ("staging", "StatefulSet", "observability", "loki"),
    ]
    for key in changed:
        assert old[key]["metadata"]["annotations"][ANNOTATION] != new[key]["metadata"]["annotations"][ANNOTATION]
        old[key]["metadata"]["annotations"].pop(ANNOTATION)
        new[key]["metadata"]["annotations"].pop(ANNOTATION)
        assert old[key] == new[key], f"{key}: only the checksum changes in the pod template"


def test_every_reader_of_a_rendered_config_map_carries_its_checksum(
    renders: tuple[dict[Key, dict[str, Any]], dict[Key, dict[str, Any]]],
) -> None:
    """prod (the base, no overlay patches of ConfigMaps) checked exactly; elsewhere every reader is annotated.

    Exact only for prod because kustomize drops the final newline of a string a JSON 6902 patch
    replaces, so an overlay's built ConfigMap can differ from bbgen's rendering by that newline.
    """
    _, built = renders
    config_maps = {(k[0], k[2], k[3]): content_digest(d) for k, d in built.items() if k[1] == "ConfigMap"}
    readers = 0
    for key, template in _templates(built).items():
        env, _, namespace, _ = key
        used = {n: config_maps[(env, namespace, n)] for n in sorted(referenced(template["spec"])) if (env, namespace, n) in config_maps}
        annotations = template.get("metadata", {}).get("annotations", {})
        if not used:
            assert ANNOTATION not in annotations, key
            continue
        readers += 1
        assert len(annotations.get(ANNOTATION, "")) == 64, (key, used)
        if env == "prod":
            assert annotations[ANNOTATION] == hashlib.sha256(json.dumps(used, sort_keys=True).encode()).hexdigest(), key
    assert readers >= 16  # loki, tempo, prometheus, alloy, grafana, keycloak (and its Job), local-path, per environment


def test_referenced_finds_every_way_a_pod_reads_a_config_map() -> None:
    spec = {
        "volumes": [
            {"name": "a", "configMap": {"name": "mounted"}},
            {"name": "b", "projected": {"sources": [{"configMap": {"name": "projected"}}, {"secret": {"name": "s"}}]}},
        ],
        "initContainers": [{"name": "i", "envFrom": [{"configMapRef": {"name": "env-from"}}, {"secretRef": {"name": "s"}}]}],
        "containers": [{"name": "c", "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "key-ref", "key": "k"}}}]}],
    }
    assert referenced(spec) == {"mounted", "projected", "env-from", "key-ref"}
