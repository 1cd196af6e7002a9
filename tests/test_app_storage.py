"""Custom apps' `files` and `volumes`: one ConfigMap mounted file by file, emptyDirs, and persistent claims
that make the app a StatefulSet.

The rendered objects are read back from disk; a spec with every shape goes through the real
kustomize and kubeconform (`api.validate`); each mistake is a located exit 2 that writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen import api
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from support import MINIMAL_SPEC, bbgen

BASE = MINIMAL_SPEC + """\
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  postgres: {}
apps:
"""

STORAGE = BASE + """\
  web:
    image: registry.example.org/web:1.0
    host: web
    files:
      - {path: /etc/web/config.yaml, content: "level: info\\n"}
      - {path: /app/bin/start.sh, source: scripts/start.sh, mode: "0755"}
    volumes:
      - {name: cache, path: /var/cache/web, type: emptyDir, size: 1Gi}
      - {name: shm, path: /dev/shm, type: emptyDir, medium: Memory, size: 64Mi}
  store:
    image: registry.example.org/store:2.0
    dependsOn: [postgres]
    files:
      - {path: /etc/store/store.toml, source: store.toml}
    volumes:
      - {name: data, path: /var/lib/store, type: persistent, size: 5Gi}
  indexer:
    image: registry.example.org/store:2.0
    kind: worker
    volumes:
      - {name: spool, path: /var/spool/indexer, type: persistent, size: 2Gi}
      - {name: scratch, path: /scratch, type: emptyDir}
  cleanup:
    image: registry.example.org/store:2.0
    kind: job
    command: [cleanup]
    volumes:
      - {name: work, path: /work, type: emptyDir}
"""


def _write(tmp_path: Path, text: str, *, start: str = "#!/bin/sh\nexec web\n") -> Path:
    (tmp_path / "scripts").mkdir(exist_ok=True)
    (tmp_path / "scripts" / "start.sh").write_text(start, encoding="utf-8")
    (tmp_path / "store.toml").write_text("[store]\nsync = true\n", encoding="utf-8")
    spec = tmp_path / "platform.yaml"
    spec.write_text(text, encoding="utf-8")
    return spec


def _render(tmp_path: Path, text: str = STORAGE, **kw: str) -> Path:
    spec = _write(tmp_path, text, **kw)
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(spec)), out)
    return out


def _objects(out: Path, app: str, where: str = "base") -> dict[str, dict[str, Any]]:
    folder = out / "components" / app / where
    docs = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.yaml")) if p.name != "kustomization.yaml"]
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}


def _pod(workload: dict[str, Any]) -> dict[str, Any]:
    template: dict[str, Any] = workload["spec"]["template"]
    return template


def test_files_are_one_config_map_mounted_file_by_file(tmp_path: Path) -> None:
    web = _objects(_render(tmp_path), "web")
    cm = web["ConfigMap/web-files"]
    assert cm["data"] == {"etc_web_config.yaml": "level: info\n", "app_bin_start.sh": "#!/bin/sh\nexec web\n"}
    pod = _pod(web["Deployment/web"])
    digest = hashlib.sha256(json.dumps({"binaryData": {}, "data": cm["data"]}, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    want = hashlib.sha256(json.dumps({"web-files": digest}, sort_keys=True).encode()).hexdigest()
    assert pod["metadata"]["annotations"] == {"checksum/config": want}
    mounts = pod["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "files", "mountPath": "/etc/web/config.yaml", "subPath": "etc_web_config.yaml", "readOnly": True} in mounts
    assert {"name": "files", "mountPath": "/app/bin/start.sh", "subPath": "app_bin_start.sh", "readOnly": True} in mounts
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    items = volumes["files"]["configMap"]["items"]
    assert volumes["files"]["configMap"]["name"] == "web-files"
    assert {"key": "app_bin_start.sh", "path": "app_bin_start.sh", "mode": 0o755} in items
    assert {"key": "etc_web_config.yaml", "path": "etc_web_config.yaml"} in items
    assert "argocd.argoproj.io/sync-options" not in cm["metadata"].get("annotations", {})


def test_changing_one_file_rolls_only_that_apps_pods(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    before = _render(tmp_path / "a")
    after = _render(tmp_path / "b", start="#!/bin/sh\nexec web --verbose\n")
    changed = []
    for app in ("web", "store", "indexer", "cleanup"):
        old, new = _objects(before, app), _objects(after, app)
        assert set(old) == set(new)
        changed += [ident for ident in old if old[ident] != new[ident]]
    assert sorted(changed) == ["ConfigMap/web-files", "Deployment/web"]
    old_pod, new_pod = _pod(_objects(before, "web")["Deployment/web"]), _pod(_objects(after, "web")["Deployment/web"])
    assert old_pod["metadata"]["annotations"]["checksum/config"] != new_pod["metadata"]["annotations"]["checksum/config"]
    old_pod["metadata"]["annotations"] = new_pod["metadata"]["annotations"] = {}
    assert old_pod == new_pod, "only the checksum changes in the pod template"


def test_empty_dirs_and_persistent_volumes(tmp_path: Path) -> None:
    out = _render(tmp_path, STORAGE.replace("apps:\n", "storage: {className: fast-ssd}\napps:\n", 1))
    web = _pod(_objects(out, "web")["Deployment/web"])["spec"]
    volumes = {v["name"]: v for v in web["volumes"]}
    assert volumes["cache"] == {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}
    assert volumes["shm"] == {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}
    assert {"name": "shm", "mountPath": "/dev/shm"} in web["containers"][0]["volumeMounts"]

    store = _objects(out, "store")
    assert set(store) == {"ConfigMap/store-files", "Service/store", "Service/store-headless", "StatefulSet/store"}
    sts = store["StatefulSet/store"]["spec"]
    assert sts["serviceName"] == "store-headless" and sts["replicas"] == 1
    assert sts["volumeClaimTemplates"] == [{
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast-ssd", "resources": {"requests": {"storage": "5Gi"}}},
    }]
    container = sts["template"]["spec"]["containers"][0]
    assert {"name": "data", "mountPath": "/var/lib/store"} in container["volumeMounts"]
    assert "data" not in {v["name"] for v in sts["template"]["spec"]["volumes"]}, "a claim is mounted by its template's name"
    assert "POSTGRES_HOST" in {e["name"] for e in container["env"]}
    headless = store["Service/store-headless"]["spec"]
    assert headless["clusterIP"] == "None" and headless["selector"] == sts["selector"]["matchLabels"]
    assert headless["ports"] == [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}]
    assert store["Service/store"]["spec"]["ports"][0]["port"] == 80, "the app's own Service is unchanged"

    indexer = _objects(out, "indexer")
    assert set(indexer) == {"Service/indexer-headless", "StatefulSet/indexer"}, "a worker gets only the headless Service"
    assert "ports" not in indexer["Service/indexer-headless"]["spec"]
    assert [c["metadata"]["name"] for c in indexer["StatefulSet/indexer"]["spec"]["volumeClaimTemplates"]] == ["spool"]

    job = _objects(out, "cleanup")["Job/cleanup"]["spec"]["template"]["spec"]
    assert {"name": "work", "emptyDir": {}} in job["volumes"]


def test_an_environment_layer_changes_files_and_volumes(tmp_path: Path) -> None:
    text = STORAGE + """\
environments:
  prod: {}
  staging:
    domain: staging.example.org
    cluster: https://staging.example.org:6443
    apps:
      web:
        files: [{path: /etc/web/config.yaml, content: "level: debug\\n"}]
        volumes: [{name: data, path: /var/lib/web, type: persistent, size: 1Gi}]
      store: {volumes: []}
"""
    out = _render(tmp_path, text)
    prod = _objects(out, "web")
    assert "Deployment/web" in prod and prod["ConfigMap/web-files"]["data"]["etc_web_config.yaml"] == "level: info\n"
    overlay = out / "components/web/overlays/staging"
    sts = yaml.safe_load((overlay / "statefulset-web.yaml").read_text(encoding="utf-8"))
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "1Gi"
    kustomization = (overlay / "kustomization.yaml").read_text(encoding="utf-8")
    assert "level: debug" in kustomization and "$patch: delete" in kustomization
    staging_store = (out / "components/store/overlays/staging/deployment-store.yaml").read_text(encoding="utf-8")
    assert "kind: Deployment" in staging_store, "without a persistent volume the app is a Deployment again"


def test_large_files_are_applied_server_side(tmp_path: Path) -> None:
    big = "x" * (300 * 1024)
    out = _render(tmp_path, BASE + f"  a:\n    image: registry.example.org/a:1.0\n    files: [{{path: /etc/a/big.txt, content: {big}}}]\n")
    cm = _objects(out, "a")["ConfigMap/a-files"]
    assert cm["metadata"]["annotations"] == {"argocd.argoproj.io/sync-options": "ServerSideApply=true"}


@pytest.mark.tools
def test_files_and_volumes_validate_with_the_real_tools(tmp_path: Path, tools: dict[str, str]) -> None:
    text = STORAGE + """\
  scaled:
    image: registry.example.org/a:1.0
    resources: {requests: {cpu: 200m}}
    autoscale: {min: 2, max: 4}
    migrate: {command: [migrate]}
    volumes: [{name: data, path: /data, type: persistent, size: 1Gi}]
environments:
  prod: {}
  staging:
    domain: staging.example.org
    cluster: https://staging.example.org:6443
    apps:
      web: {volumes: [{name: data, path: /var/lib/web, type: persistent, size: 1Gi}]}
"""
    out = _render(tmp_path, text)
    report = api.validate(out)
    errors = [str(f) for f in report.findings if f.severity == "error"]
    assert not errors, "\n".join(errors)


def _fails(tmp_path: Path, app: str, *, tail: str = "") -> str:
    spec = _write(tmp_path, BASE + "  a:\n    image: registry.example.org/a:1.0\n" + app + tail)
    out = tmp_path / "out"
    result = bbgen("render", str(spec), "--out", str(out), "-q")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
    return result.stderr


@pytest.mark.parametrize("app,where,words", [
    ("    files: [{path: /etc/a.conf, source: missing.conf}]\n", "platform.yaml:13:41: apps.a.files[0].source", "cannot read missing.conf"),
    ("    files: [{path: /etc/a.conf, source: scripts}]\n", "apps.a.files[0].source", "cannot read scripts"),
    ("    files: [{path: /etc/a.conf, content: x, source: store.toml}]\n", "platform.yaml:13:13: apps.a.files[0]", "exactly one of `content`"),
    ("    files: [{path: /etc/a.conf}]\n", "apps.a.files[0]", "exactly one of `content`"),
    ("    files: [{path: /etc/a.conf, content: x, mode: 0644}]\n", "apps.a.files[0].mode", "quoted octal string"),
    ("    files: [{path: /etc/a.conf, content: x, mode: '0888'}]\n", "apps.a.files[0].mode", "not an octal file mode"),
    ("    files: [{path: etc/a.conf, content: x}]\n", "apps.a.files[0].path", "not an absolute path"),
    ("    files: [{path: /etc/../a.conf, content: x}]\n", "apps.a.files[0].path", "not an absolute path"),
    ("    files: [{path: /etc/a.conf, content: x}, {path: /etc/a.conf, content: y}]\n", "platform.yaml:13:53: apps.a.files[1].path", "already mounted by files[0]"),
    ("    files: [{path: /etc/a_b, content: x}, {path: /etc/a/b, content: y}]\n", "apps.a.files[1].path", "same ConfigMap key 'etc_a_b'"),
    ("    files: [{path: /etc/a, content: x}]\n    volumes: [{name: v, path: /etc/a/b, type: emptyDir}]\n", "apps.a.volumes[0].path", "inside /etc/a, which is a mounted file"),
    ("    volumes: [{name: v, path: /tmp, type: emptyDir}]\n", "apps.a.volumes[0].path", "already mounted by bbgen's writable /tmp"),
    ("    volumes: [{name: tmp, path: /scratch, type: emptyDir}]\n", "apps.a.volumes[0].name", "a volume bbgen mounts itself"),
    ("    volumes: [{name: v, path: /x, type: emptyDir}, {name: v, path: /y, type: emptyDir}]\n", "apps.a.volumes[1].name", "already declared at volumes[0]"),
    ("    volumes: [{name: v, path: /x, type: persistent}]\n", "apps.a.volumes[0].type", "needs a size"),
    ("    volumes: [{name: v, path: /x, type: persistent, size: 1Gi, medium: Memory}]\n", "apps.a.volumes[0].medium", "for an emptyDir"),
    ("    kind: job\n    volumes: [{name: v, path: /x, type: persistent, size: 1Gi}]\n", "platform.yaml:14:41: apps.a.volumes[0].type", "a job keeps no pods"),
    ("    kind: cronjob\n    schedule: '@daily'\n    volumes: [{name: v, path: /x, type: persistent, size: 1Gi}]\n", "apps.a.volumes[0].type", "a cronjob keeps no pods"),
    ("    volumes: [{name: v, path: /x, type: emptyDir, size: 0}]\n", "apps.a.volumes[0].size", "above zero"),
    ("    volumes: [{name: v, path: /x, type: emptyDir, medium: Memory, size: 1Gi}]\n", "apps.a.volumes[0].size", "above the memory limit 512Mi"),
    ("    volumes: [{name: v, path: /x, type: hostPath}]\n", "apps.a.volumes[0].type", "emptyDir"),
])
def test_misfit_files_and_volumes_are_located_errors(tmp_path: Path, app: str, where: str, words: str) -> None:
    err = _fails(tmp_path, app)
    assert where in err and words in err, err


def test_files_over_a_config_map_are_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("x" * (700 * 1024), encoding="utf-8")
    err = _fails(tmp_path, "    files:\n      - {path: /a/one, source: big.txt}\n      - {path: /a/two, source: big.txt}\n")
    assert "platform.yaml:15:32: apps.a.files[1].source" in err and "over the 1 MiB a ConfigMap holds" in err, err


def test_a_binary_source_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"\xff\xfe\x00binary")
    err = _fails(tmp_path, "    files: [{path: /a/blob, source: blob.bin}]\n")
    assert "apps.a.files[0].source" in err and "not UTF-8 text" in err, err


def test_an_environment_layers_mistake_is_located_there(tmp_path: Path) -> None:
    layer = """\
environments:
  prod: {}
  dev:
    cluster: https://dev.example.org:6443
    apps:
      a: {%s}
"""
    (tmp_path / "one").mkdir()
    err = _fails(tmp_path / "one", "    kind: job\n", tail=layer % "volumes: [{name: v, path: /x, type: persistent, size: 1Gi}]")
    assert "environments.dev.apps.a.volumes[0].type" in err and "a job keeps no pods" in err, err
    (tmp_path / "two").mkdir()
    err = _fails(tmp_path / "two", "", tail=layer % "files: [{path: /etc/x, source: gone.txt}]")
    assert "platform.yaml:18:42: environments.dev.apps.a.files[0].source" in err and "cannot read gone.txt" in err, err


@pytest.mark.tools
def test_validate_cross_checks_what_pods_mount(tmp_path: Path, tools: dict[str, str]) -> None:
    """A patch can break what no schema sees: a mount of an undeclared volume, a ConfigMap key that is gone,
    a StatefulSet's missing governing Service, a claim on a StorageClass nobody renders."""
    broken = STORAGE.replace("""      - {name: data, path: /var/lib/store, type: persistent, size: 5Gi}
""", """      - {name: data, path: /var/lib/store, type: persistent, size: 5Gi}
    patches:
      - target: {kind: StatefulSet, name: store}
        ops:
          - {op: replace, path: /spec/serviceName, value: nowhere}
          - {op: replace, path: /spec/volumeClaimTemplates/0/spec/storageClassName, value: other}
          - {op: remove, path: /spec/template/spec/volumes/0}
      - target: {kind: ConfigMap, name: store-files}
        ops: [{op: remove, path: /data/etc_store_store.toml}]
""")
    report = api.validate(_render(tmp_path, broken))
    found = {(f.check, f.resource.split("/")[-1]) for f in report.findings if f.severity == "error"}
    assert found == {("volume-mount", "store"), ("configmap-key", "store"), ("statefulset-service", "store"), ("storage-class", "store")}, report.findings


def test_an_autoscaled_stateful_app_scales_its_stateful_set(tmp_path: Path) -> None:
    app = """\
  a:
    image: registry.example.org/a:1.0
    resources: {requests: {cpu: 200m}}
    autoscale: {min: 2, max: 4}
    volumes: [{name: data, path: /data, type: persistent, size: 1Gi}]
"""
    objects = _objects(_render(tmp_path, BASE + app), "a")
    assert "replicas" not in objects["StatefulSet/a"]["spec"], "the autoscaler owns the replica count"
    assert objects["HorizontalPodAutoscaler/a"]["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "a"}
    assert "PodDisruptionBudget/a" in objects
    pod = _pod(objects["StatefulSet/a"])["spec"]
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
