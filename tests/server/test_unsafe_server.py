"""A real API server agrees with `bbgen diff`'s in-place check: what it flags is refused, the rest is accepted.

Each case of tests/unsafe_cases.py is rendered before and after, built with the real kustomize
(what Argo CD applies), and sent with the pinned kubectl as Argo CD sends it: `kubectl apply`
of the old object, then of the new one. A flagged change must be refused, and a `kubectl
replace` of it too (so `Replace=true` alone is no remedy); an unflagged one must be stored.
"Kept" cases are accepted but leave the field as it was (a headless Service stays headless).
A scratch server has no controllers, so claims stay unbound: a PVC's changes are refused
there as spec changes (a bound claim's shrink is refused as smaller than before), and the
growth on local-path (stored, never applied) is not a server question.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen import api
from unsafe_cases import CASES, Case, rendered, write_spec

SERVED = [c for c in CASES if c.server != "skip"]


def _built(kustomize: str, tree: Path, kind: str, name: str) -> dict[str, Any]:
    run = subprocess.run([kustomize, "build", str(tree / "components" / "web" / "overlays" / "prod")], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    (doc,) = [d for d in yaml.safe_load_all(run.stdout) if d and d["kind"] == kind and d["metadata"]["name"] == name]
    return dict(doc)


def _kubectl(server: Any, kubectl: Path, *args: str, doc: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(kubectl), f"--kubeconfig={server.kubeconfig}", *args], input=json.dumps(doc) if doc else None,
        capture_output=True, text=True, timeout=60, check=False,
    )


def _get(doc: Any, path: str) -> Any:
    for part in path.split("."):
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


@pytest.mark.parametrize("case", SERVED, ids=[c.id for c in SERVED])
def test_the_server_refuses_exactly_what_diff_flags(case: Case, kube_server: Any, kube_binaries: Path, tools: dict[str, str], tmp_path: Path) -> None:
    old_tree = rendered(write_spec(tmp_path / "old", case.old), tmp_path / "gitops")
    new_spec = write_spec(tmp_path / "new", case.new)
    result = api.diff(new_spec, against=old_tree)
    assert result.unsafe is not None and bool(result.unsafe) is case.flagged, result.unsafe
    new_tree = rendered(new_spec, tmp_path / "gitops-new")

    kind, name = case.old["kind"], case.old["metadata"]["name"]
    namespace = "unsafe-" + case.id[:40]
    old, new = (_built(tools["kustomize"], tree, kind, name) for tree in (old_tree, new_tree))
    for doc in (old, new):
        doc["metadata"]["namespace"] = namespace
    kubectl = kube_binaries / "kubectl"
    assert _kubectl(kube_server, kubectl, "create", "namespace", namespace).returncode == 0
    first = _kubectl(kube_server, kubectl, "apply", "-f", "-", doc=old)
    assert first.returncode == 0, first.stderr

    second = _kubectl(kube_server, kubectl, "apply", "-f", "-", doc=new)
    if case.server == "refused":
        assert second.returncode != 0, f"the server accepted a change bbgen flags: {second.stdout}"
        assert any(word in second.stderr for word in ("Forbidden", "immutable", "Invalid")), second.stderr
        top = case.field.split(".")[0].split("[")[0]
        assert f"{top}: " in second.stderr or f"{top}." in second.stderr, second.stderr  # refused for that field, not another reason
        replaced = _kubectl(kube_server, kubectl, "replace", "-f", "-", doc=new)
        assert replaced.returncode != 0, "kubectl replace (Argo CD's Replace=true) got past it"
        return
    assert second.returncode == 0, second.stderr
    live = json.loads(_kubectl(kube_server, kubectl, "-n", namespace, "get", kind.lower(), name, "-o", "json").stdout)
    for path, value in case.kept.items():
        assert _get(live, path) == value, f"{path} changed on the live object"
