"""Environments are layers over the base spec: each gets its own fields and its own cluster facts.

The spec below has three environments on three clusters: staging runs a newer
image of the app, dev disables a component and changes a setting and a host, and
each environment has its own API server (Cilium's kube-proxy replacement) and its
own static volume on its own node. The render is checked file by file, and by the
real kustomize and kubeconform.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from bbgen import api
from bbgen.errors import SpecError
from bbgen.render.build import build_tree
from bbgen.spec import load_platform
from bbgen.spec.layers import layered
from bbgen.spec._positions import PosNode
from bbgen.spec.merge import env_view

from support import bbgen

SPEC = """\
name: layered
domain: example.org
kubernetesVersion: "1.34"
gitops:
  url: https://git.example.org
  owner: platform
  repo: layered-gitops
tls:
  acmeEmail: ops@example.org
ingress:
  provider: gateway
  className: cilium
storage:
  provisioner: kubernetes.io/no-provisioner
  volumes:
    - {name: prod-pg, node: prod-node-1, path: /mnt/ssd/pg, size: 20Gi}
nodePools:
  node: {role: control-plane, count: 1}
components:
  cilium:
    settings:
      k8sServiceHost: "192.0.2.10"
      gatewayHostNetwork: true
  gateway-api: {}
  gateway: {}
  cert-manager: {}
  cluster-issuers: {}
  argocd: {}
  postgres: {storage: 20Gi}
  redis: {}
apps:
  api:
    image: registry.example.org/api:1.0
    host: api
    dependsOn: [postgres]
environments:
  prod: {}
  staging:
    cluster: https://staging.example.org:6443
    components:
      cilium: {settings: {k8sServiceHost: "198.51.100.20"}}
    apps:
      api: {image: registry.example.org/api:1.1}
    storage:
      volumes:
        - {name: staging-pg, node: staging-node-1, path: /mnt/ssd/pg, size: 20Gi}
  dev:
    cluster: https://dev.example.org:6443
    components:
      cilium: {settings: {k8sServiceHost: "203.0.113.30", gatewayHostNetwork: false}}
      redis: {enabled: false}
      api: {host: api-dev}
    storage:
      volumes:
        - {name: dev-pg, node: dev-node-1, path: /srv/pg, size: 20Gi}
"""

# What each environment's cluster is, and must be the only one to carry.
CLUSTER_FACTS = {
    "prod": ("192.0.2.10", "prod-node-1", "prod-pg"),
    "staging": ("198.51.100.20", "staging-node-1", "staging-pg"),
    "dev": ("203.0.113.30", "dev-node-1", "dev-pg"),
}


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "layered.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def _line(text: str, needle: str) -> int:
    """1-based line of the only line holding ``needle``."""
    found = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(found) == 1, (needle, found)
    return found[0]


def _files(spec: Path) -> dict[str, str]:
    return {path: data.decode() for path, data in build_tree(load_platform(spec)).with_manifest().items() if isinstance(data, bytes)}


def test_merge_rules_mappings_merge_lists_replace_null_removes() -> None:
    base = {"components": {"x": {"settings": {"a": 1, "b": 2}, "env": [1, 2]}}, "environments": {"e": {
        "components": {"x": {"settings": {"b": 3, "a": None}, "env": [9]}}, "cluster": "https://e"}}}
    merged, _ = layered(base, PosNode(), "e")
    assert merged["components"] == {"x": {"settings": {"b": 3}, "env": [9]}}
    assert merged["environments"] == {"e": {"cluster": "https://e"}}, "the layer is applied, not kept"
    assert base["components"]["x"]["settings"] == {"a": 1, "b": 2}, "the base data is left alone"


def test_each_environment_sees_its_own_fields(spec: Path) -> None:
    platform = load_platform(spec)
    prod, staging, dev = (env_view(platform, e) for e in ("prod", "staging", "dev"))
    assert (prod.apps["api"].image, staging.apps["api"].image, dev.apps["api"].image) == (
        "registry.example.org/api:1.0", "registry.example.org/api:1.1", "registry.example.org/api:1.0")
    assert dev.components["redis"].enabled is False and prod.components["redis"].enabled
    assert dev.components["cilium"].settings == {"k8sServiceHost": "203.0.113.30", "gatewayHostNetwork": False}
    assert staging.components["cilium"].settings == {"k8sServiceHost": "198.51.100.20", "gatewayHostNetwork": True}
    assert [v.node for v in staging.storage.volumes] == ["staging-node-1"]
    assert platform.components["cilium"].settings["k8sServiceHost"] == "192.0.2.10", "the base is unchanged"


def test_the_render_keeps_every_cluster_fact_in_its_environment(spec: Path) -> None:
    files = _files(spec)
    # The staging-only image: in staging's overlay and nowhere else (the base keeps prod's).
    with_new_image = sorted(p for p, text in files.items() if "api:1.1" in text)
    assert with_new_image == ["components/api/overlays/staging/kustomization.yaml"], with_new_image
    assert "api:1.0" in files["components/api/base/deployment-api.yaml"]
    # dev disables redis: no overlay, no Application there; the others keep it.
    assert not any(p.startswith("components/redis/overlays/dev/") for p in files)
    assert "apps/dev/redis.yaml" not in files and "apps/staging/redis.yaml" in files
    assert "redis.yaml" not in yaml.safe_load(files["apps/dev/kustomization.yaml"])["resources"]
    # dev's host
    assert "api-dev.dev.example.org" in files["components/api/overlays/dev/kustomization.yaml"]
    # Cilium's API server and the static volumes: each environment's own, never another's.
    for env, (api_server, node, volume) in CLUSTER_FACTS.items():
        values = yaml.safe_load(files[f"values/cilium/{env}.yaml"])
        assert values["k8sServiceHost"] == api_server and values["kubeProxyReplacement"] is True
        assert f"platform/{env}/persistentvolume-{volume}.yaml" in files
        assert node in files[f"platform/{env}/persistentvolume-{volume}.yaml"]
        for other, facts in CLUSTER_FACTS.items():
            if other == env:
                continue
            own = {p: t for p, t in files.items() if f"/{env}/" in p or p.endswith(f"/{env}.yaml")}
            leaks = sorted(p for p, text in own.items() for fact in facts if fact in text)
            assert leaks == [], f"{env}'s files carry {other}'s cluster facts: {leaks}"


def test_the_render_builds_and_validates(spec: Path, tools: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    api.render(spec, out)
    report = api.validate(out)
    assert [str(f) for f in report.findings if f.severity == "error"] == []
    assert report.builds, "kustomize built the overlays"


@pytest.mark.parametrize(("old", "new", "needle", "expected"), [
    ("api: {image: registry.example.org/api:1.1}", "api: {image: registry.example.org/api:1.1, replicas: -1}", "replicas: -1",
     "environments.staging.apps.api.replicas: Input should be greater than or equal to 0"),
    ("redis: {enabled: false}", "redis: {enabled: false}\n      nosuch: {replicas: 2}", "nosuch:",
     "environments.dev.components.nosuch: unknown component 'nosuch'"),
    ('cilium: {settings: {k8sServiceHost: "198.51.100.20"}}', 'cilium: {settings: {k8sServiceHost: "198.51.100.20", bogus: 1}}', "bogus",
     "environments.staging.components.cilium.settings.bogus"),
])
def test_an_error_in_a_layer_is_located_at_the_layer(tmp_path: Path, old: str, new: str, needle: str, expected: str) -> None:
    assert old in SPEC
    text = SPEC.replace(old, new)
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_platform(path)
    lines = [str(i) for i in caught.value.issues]
    assert any(line.startswith(f"{path}:{_line(text, needle)}:") and expected in line for line in lines), lines


def test_the_api_server_is_checked_in_every_environment(tmp_path: Path) -> None:
    """dev removes the endpoint (null): the gateway provider needs it there too, and the error names dev."""
    text = SPEC.replace('k8sServiceHost: "203.0.113.30", gatewayHostNetwork: false', "k8sServiceHost: null")
    path = tmp_path / "nohost.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_platform(path)
    assert [str(i).removeprefix(f"{path}:") for i in caught.value.issues] == [
        "20:3: components.cilium: ingress.provider: gateway needs settings.k8sServiceHost of 'cilium' (Gateway API needs Cilium's "
        "kube-proxy replacement: set it to the API server's address) (in environment dev)"
    ]


def test_bbgen_spec_prints_the_merged_environment_with_its_lines(spec: Path) -> None:
    run = bbgen("spec", str(spec), "--env", "staging", "-q")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    merged = yaml.safe_load(out)
    assert merged["apps"]["api"]["image"] == "registry.example.org/api:1.1"
    assert list(merged["environments"]) == ["staging"]
    assert merged["storage"]["volumes"] == [{"name": "staging-pg", "node": "staging-node-1", "path": "/mnt/ssd/pg", "size": "20Gi"}]
    image_line = next(line for line in out.splitlines() if "api:1.1" in line)
    assert image_line.endswith(f"# {spec}:{_line(SPEC, 'api:1.1')} (environments.staging)"), image_line
    base_line = next(line for line in out.splitlines() if "acmeEmail" in line)
    assert base_line.endswith(f"# {spec}:{_line(SPEC, 'acmeEmail')}"), base_line
    host_line = next(line for line in out.splitlines() if "k8sServiceHost" in line)
    assert "198.51.100.20" in host_line and host_line.endswith(f":{_line(SPEC, '198.51.100.20')} (environments.staging)")
    as_json = json.loads(bbgen("spec", str(spec), "-e", "dev", "-o", "json").stdout)
    assert as_json["spec"]["components"]["redis"] == {"enabled": False}
    assert as_json["origin"]["environments.dev.components.redis.enabled"] == f"{spec}:{_line(SPEC, 'redis: {enabled: false}')}:24"
    unknown = bbgen("spec", str(spec), "--env", "qa")
    assert unknown.returncode == 2 and "qa" in unknown.stderr and not unknown.stdout


def test_a_spec_without_layers_keeps_its_old_shape(tmp_path: Path) -> None:
    """`environments.<env>.components.<name>: {replicas, resources}` still addresses an app by name."""
    text = SPEC.replace("      api: {host: api-dev}\n", "      api: {replicas: 3, resources: {limits: {memory: 1Gi}}}\n")
    path = tmp_path / "old.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    dev = env_view(load_platform(path), "dev").apps["api"]
    assert dev.replicas == 3 and dev.resources is not None and dev.resources.limits is not None and dev.resources.limits.memory == "1Gi"


def test_a_platform_built_in_code_gets_its_layers_too() -> None:
    """env_view merges a Platform's own data when no file was loaded (the same rules)."""
    from bbgen.spec.models import Platform

    data = yaml.safe_load(SPEC)
    platform = Platform.model_validate(data)
    assert env_view(platform, "staging").apps["api"].image == "registry.example.org/api:1.1"
    assert env_view(platform, "dev").components["redis"].enabled is False
    assert env_view(platform, "prod").apps["api"].image == "registry.example.org/api:1.0"
    with pytest.raises(KeyError):
        env_view(platform, "qa")


def test_bbgen_graph_draws_the_environment_it_is_asked_for(spec: Path) -> None:
    dev, staging = (bbgen("graph", str(spec), "--env", e, "-q") for e in ("dev", "staging"))
    assert dev.returncode == staging.returncode == 0, dev.stderr + staging.stderr
    assert "redis" in staging.stdout and "redis" not in dev.stdout
    assert "api:1.1" in staging.stdout and "api:1.1" not in dev.stdout


def test_node_pools_are_per_cluster(tmp_path: Path) -> None:
    """A layer's nodePools merge pool by pool; `null` removes one; GPU pools come from the environment's own."""
    text = SPEC.replace("      api: {host: api-dev}\n", (
        "      api: {host: api-dev}\n"
        "    nodePools:\n"
        "      node: null\n"
        "      dev-nodes: {role: control-plane, count: 2}\n"
        "      gpu: {role: gpu, gpusPerNode: 1}\n"
    ))
    path = tmp_path / "pools.yaml"
    path.write_text(text, encoding="utf-8")
    platform = load_platform(path)
    dev, prod = env_view(platform, "dev"), env_view(platform, "prod")
    assert sorted(dev.node_pools) == ["dev-nodes", "gpu"] and dev.gpu_pools() == ["gpu"]
    assert sorted(prod.node_pools) == ["node"] and prod.gpu_pools() == []
    bad = text.replace("gpusPerNode: 1}", "gpusPerNode: 99}")
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_platform(path)
    assert [str(i).removeprefix(f"{path}:") for i in caught.value.issues] == [
        f"{_line(bad, 'gpusPerNode: 99')}:37: environments.dev.nodePools.gpu.gpusPerNode: Input should be less than or equal to 16"
    ]
