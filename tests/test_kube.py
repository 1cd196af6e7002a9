"""kube/: the one pod-template walker, object identity and labels every stage shares."""

from __future__ import annotations

from typing import Any

import pytest

from bbgen.kube import yamlio
from bbgen.kube.objects import POD_SPEC_PATHS, containers, identity, pod_template, standard_labels
from bbgen.secrets import guard

POD: dict[str, Any] = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "env": [{"name": "TOKEN", "value": "ghp_" + "a1B2" * 9}]}]}}


def _workload(kind: str) -> dict[str, Any]:
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "p", **POD["metadata"]}, "spec": POD["spec"]}
    if kind == "CronJob":
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": {"name": "p"}, "spec": {"jobTemplate": {"spec": {"template": POD}}}}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "p"}, "spec": {"template": POD}}


@pytest.mark.parametrize("kind", ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"])
def test_every_workload_kind_has_its_pods_found(kind: str) -> None:
    tpl = pod_template(_workload(kind))
    assert tpl is not None and tpl.path == POD_SPEC_PATHS[kind]
    assert tpl.labels == {"app": "x"} and tpl.spec == POD["spec"]
    # the leak guard and validate read the same walker: a token in any kind's env is found
    leaks = guard.scan_files({"w.yaml": yamlio.dump(_workload(kind)).encode()})
    assert {leak.field for leak in leaks} == {".".join(tpl.path) + ".containers[0].env[0].value"}


def test_what_is_not_a_workload_has_no_pods() -> None:
    assert pod_template({"kind": "Service", "spec": {"template": POD}}) is None
    assert pod_template({"kind": "Deployment", "spec": {"template": "nonsense"}}) is None
    assert pod_template(["not", "a", "mapping"]) is None
    assert pod_template({"kind": "Deployment", "spec": {"template": {}}}) is not None  # empty: nothing to check, not an error


def test_containers_keep_their_index_past_malformed_items() -> None:
    spec = {"initContainers": [{"name": "i"}], "containers": ["junk", {"name": "c"}]}
    assert [(k, i, c["name"]) for k, i, c in containers(spec)] == [("initContainers", 0, "i"), ("containers", 1, "c")]


def test_identity_and_labels() -> None:
    doc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "db"}}
    assert identity(doc) == ("v1", "Service", "db", "s")
    assert identity({**doc, "metadata": {"name": "s"}}) == ("v1", "Service", "", "s")
    assert standard_labels("web", part_of="demo") == {
        "app.kubernetes.io/name": "web",
        "app.kubernetes.io/instance": "web",
        "app.kubernetes.io/part-of": "demo",
        "app.kubernetes.io/managed-by": "bbgen",
    }


def test_one_loader_and_its_error() -> None:
    assert yamlio.load_all("a: 1\n---\n---\nb: [x]\n") == [{"a": 1}, {"b": ["x"]}]
    with pytest.raises(yamlio.YAMLError):
        yamlio.load("a: [1\n")
    # canonical: identifying keys first, the rest sorted; in order: as built (hand-read Secret files)
    assert yamlio.dump({"spec": 1, "kind": "K", "apiVersion": "v1"}) == "apiVersion: v1\nkind: K\nspec: 1\n"
    assert yamlio.dump_in_order({"spec": 1, "kind": "K"}) == "spec: 1\nkind: K\n"
