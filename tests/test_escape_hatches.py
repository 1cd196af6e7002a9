"""Escape hatches (`patches`, `manifests`, `helmValues`): each on the rendered objects, validated for real, and located errors.

The render goes through the real kustomize and kubeconform (`bbgen validate`); a per-environment patch is
checked on what kustomize builds for that environment's overlay, so the base/overlay split is tested too.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen import api
from bbgen.errors import SpecError
from bbgen.render.build import build_tree
from bbgen.render.patches import apply_ops, strategic_merge
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from bbgen.spec.models import JsonPatchOp
from support import bbgen

EXTRA = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-extra
  namespace: apps
data:
  greeting: hello
"""

SPEC = """\
name: hatch
domain: example.org
gitops: {url: https://git.example.org, owner: platform, repo: hatch-gitops}
tls: {acmeEmail: ops@example.org}
environments:
  prod: {}
  dev:
    cluster: https://dev.example.org:6443
    apps:
      web:
        patches:
          - target: {kind: Deployment, name: web}
            patch: {spec: {template: {spec: {containers: [{name: web, env: [{name: DEV_ONLY, value: "1"}]}]}}}}
    components:
      cert-manager:
        helmValues: {replicaCount: 3}
components:
  cert-manager:
    helmValues:
      crds: {keep: true}
      podLabels: {team: platform}
apps:
  web:
    image: registry.example.org/web:1.0.0
    manifests: [extra.yaml]
    patches:
      - target: {kind: Deployment, name: web}
        patch:
          metadata: {annotations: {hatch.example.org/strategic: "yes"}}
          spec: {template: {spec: {terminationGracePeriodSeconds: 45}}}
      - target: {kind: Service, name: web, namespace: apps}
        ops:
          - {op: add, path: /metadata/annotations, value: {hatch.example.org/ops: "yes"}}
          - {op: test, path: /kind, value: Service}
"""


def _spec(tmp_path: Path, text: str = SPEC) -> Path:
    (tmp_path / "extra.yaml").write_text(EXTRA, encoding="utf-8")
    spec = tmp_path / "platform.yaml"
    spec.write_text(text, encoding="utf-8")
    return spec


def _rendered(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(_spec(tmp_path))), out)
    return out


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _built(kustomize: str, root: Path) -> dict[tuple[str, str], dict[str, Any]]:
    run = subprocess.run([kustomize, "build", str(root)], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(run.stdout) if d}


def test_base_patches_extra_manifest_and_helm_values_on_the_rendered_objects(tmp_path: Path) -> None:
    out = _rendered(tmp_path)
    base = out / "components/web/base"
    deployment = _load(base / "deployment-web.yaml")
    assert deployment["metadata"]["annotations"]["hatch.example.org/strategic"] == "yes"  # strategic merge
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 45
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.org/web:1.0.0"  # merged, not replaced
    assert _load(base / "service-web.yaml")["metadata"]["annotations"] == {"hatch.example.org/ops": "yes"}  # JSON 6902
    extra = _load(base / "configmap-web-extra.yaml")  # the extra manifest, in the base, owned by bbgen
    assert extra["data"] == {"greeting": "hello"}
    assert extra["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "bbgen"
    assert "configmap-web-extra.yaml" in _load(base / "kustomization.yaml")["resources"]
    prod, dev = _load(out / "values/cert-manager/prod.yaml"), _load(out / "values/cert-manager/dev.yaml")
    assert prod["crds"]["keep"] is True and prod["crds"]["enabled"] is True  # merged over what bbgen renders
    assert prod["podLabels"] == {"team": "platform"} and prod["replicaCount"] != 3
    assert dev["replicaCount"] == 3 and dev["podLabels"] == {"team": "platform"}  # the layer merges over the base


def test_helm_values_appear_in_that_values_file_and_nowhere_else(tmp_path: Path) -> None:
    out = _rendered(tmp_path)
    holders = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and "podLabels" in p.read_text(encoding="utf-8", errors="replace"))
    assert holders == ["values/cert-manager/dev.yaml", "values/cert-manager/prod.yaml"]


@pytest.mark.tools
def test_per_env_patch_lands_only_in_that_overlay_and_everything_validates(tmp_path: Path, tools: dict[str, str]) -> None:
    out = _rendered(tmp_path)
    dev = _built(tools["kustomize"], out / "components/web/overlays/dev")
    prod = _built(tools["kustomize"], out / "components/web/overlays/prod")
    dev_env = dev[("Deployment", "web")]["spec"]["template"]["spec"]["containers"][0]["env"]
    prod_env = prod[("Deployment", "web")]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "DEV_ONLY", "value": "1"} in dev_env
    assert all(e["name"] != "DEV_ONLY" for e in prod_env)
    # dev's layer replaces the whole list, so the base patches do not apply there
    assert "annotations" not in dev[("Deployment", "web")]["metadata"]
    assert prod[("Deployment", "web")]["metadata"]["annotations"]["hatch.example.org/strategic"] == "yes"
    assert ("ConfigMap", "web-extra") in dev and ("ConfigMap", "web-extra") in prod
    report = api.validate(out)
    errors = [str(f) for f in report.findings if f.severity == "error"]
    assert not errors, "\n".join(errors)


def test_patch_to_a_missing_target_exits_2_located_and_writes_nothing(tmp_path: Path) -> None:
    spec = _spec(tmp_path, SPEC.replace("{kind: Service, name: web, namespace: apps}", "{kind: Service, name: nope}"))
    out = tmp_path / "out"
    run = bbgen("render", str(spec), "--out", str(out))
    assert run.returncode == 2, run.stderr
    line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if "name: nope" in text)
    assert f"platform.yaml:{line}:" in run.stderr
    assert "apps.web.patches[1].target: no rendered object matches Service/nope (hint: the unit renders " in run.stderr
    assert "Deployment/web" in run.stderr and "Traceback" not in run.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        ("{op: test, path: /kind, value: Service}", "apps.web.patches[1].ops[1].path", "test failed"),
        ("{op: remove, path: /spec/nothing/here}", "apps.web.patches[1].ops[1].path", "does not exist"),
    ],
)
def test_a_bad_op_is_located(tmp_path: Path, change: str, where: str, says: str) -> None:
    text = SPEC.replace("{op: test, path: /kind, value: Service}", change.replace("Service", "Deployment"))
    with pytest.raises(SpecError) as err:
        build_tree(load_platform(_spec(tmp_path, text)))
    (found,) = err.value.issues
    assert found.path == where and says in found.message and found.file.endswith("platform.yaml") and found.line > 1


@pytest.mark.parametrize(
    ("edit", "where", "says"),
    [
        (("    manifests: [extra.yaml]", "    manifests: [missing.yaml]"), "apps.web.manifests[0]", "cannot read missing.yaml"),
        (("    manifests: [extra.yaml]", "    manifests: [extra.yaml]\n    helmValues: {a: 1}"), "apps.web.helmValues", "only a chart component"),
    ],
)
def test_misplaced_or_unreadable_hatches_are_located(tmp_path: Path, edit: tuple[str, str], where: str, says: str) -> None:
    with pytest.raises(SpecError) as err:
        build_tree(load_platform(_spec(tmp_path, SPEC.replace(*edit))))
    (found,) = err.value.issues
    assert found.path == where and says in found.message


def test_a_secret_with_data_in_an_extra_manifest_is_refused(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    (tmp_path / "extra.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: hunter2}\n", encoding="utf-8")
    with pytest.raises(SpecError) as err:
        build_tree(load_platform(spec))
    assert "Secret with data" in str(err.value) and "hunter2" not in str(err.value)


def test_json6902_and_strategic_merge_semantics() -> None:
    doc = {"a": {"b": [1, 2], "c": "x"}, "k~/": 1}
    ops = [JsonPatchOp.model_validate(o) for o in (
        {"op": "add", "path": "/a/b/-", "value": 3},
        {"op": "add", "path": "/a/b/0", "value": 0},
        {"op": "move", "from": "/a/c", "path": "/d"},
        {"op": "copy", "from": "/d", "path": "/e"},
        {"op": "replace", "path": "/k~0~1", "value": 2},
        {"op": "remove", "path": "/a/b/1"},
    )]
    assert apply_ops(doc, ops) == ({"a": {"b": [0, 2, 3]}, "d": "x", "e": "x", "k~/": 2}, None, "")
    assert doc == {"a": {"b": [1, 2], "c": "x"}, "k~/": 1}  # the input is untouched
    base = {"containers": [{"name": "a", "image": "i", "env": [{"name": "X", "value": "1"}]}, {"name": "b"}], "keep": 1, "drop": 2, "args": ["x"]}
    patch = {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}, {"name": "b", "$patch": "delete"}, {"name": "c"}], "drop": None, "args": ["y"]}
    assert strategic_merge(base, patch) == {
        "containers": [{"name": "a", "image": "i", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}, {"name": "c"}],
        "keep": 1,
        "args": ["y"],
    }


def test_patches_on_a_chart_without_manifests_are_located(tmp_path: Path) -> None:
    text = SPEC.replace("      podLabels: {team: platform}\n", "      podLabels: {team: platform}\n    patches: [{target: {kind: Deployment, name: cert-manager}, patch: {}}]\n")
    with pytest.raises(SpecError) as err:
        build_tree(load_platform(_spec(tmp_path, text)))
    (found,) = err.value.issues
    assert found.path == "components.cert-manager.patches" and "renders no Kustomize manifests" in found.message


def test_a_manifest_only_in_a_layer_lands_in_that_overlay(tmp_path: Path) -> None:
    text = SPEC.replace("    manifests: [extra.yaml]\n", "").replace("    apps:\n      web:\n", "    apps:\n      web:\n        manifests: [extra.yaml]\n", 1)
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(_spec(tmp_path, text))), out)
    assert not (out / "components/web/base/configmap-web-extra.yaml").exists()
    assert _load(out / "components/web/overlays/dev/configmap-web-extra.yaml")["data"] == {"greeting": "hello"}
    assert "configmap-web-extra.yaml" in _load(out / "components/web/overlays/dev/kustomization.yaml")["resources"]
    assert not (out / "components/web/overlays/prod/configmap-web-extra.yaml").exists()


def test_a_catalog_component_is_patched_and_a_miss_names_what_it_renders(tmp_path: Path) -> None:
    hit = "  redis:\n    patches: [{target: {kind: Service, name: redis}, patch: {metadata: {annotations: {team: data}}}}]\n"
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(_spec(tmp_path, SPEC.replace("components:\n  cert-manager:", "components:\n" + hit + "  cert-manager:")))), out)
    (service,) = [p for p in (out / "components/redis/base").glob("service-*.yaml") if _load(p)["metadata"]["name"] == "redis"]
    assert _load(service)["metadata"]["annotations"] == {"team": "data"}
    miss = hit.replace("name: redis}", "name: redis-nope}")
    with pytest.raises(SpecError) as err:
        build_tree(load_platform(_spec(tmp_path, SPEC.replace("components:\n  cert-manager:", "components:\n" + miss + "  cert-manager:"))))
    (found,) = err.value.issues
    assert found.path == "components.redis.patches[0].target" and (found.line, found.column) == (19, 24)  # the `target` value
    assert "no rendered object matches Service/redis-nope (hint: the unit renders " in found.message and "Service/redis" in found.message
