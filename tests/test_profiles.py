"""The shipped profiles: each renders and validates clean with the real kustomize and kubeconform.

profiles/gpu.yaml repeats the reference platform (YAML has no includes), so a test pins it
to profiles/betelgeuse.yaml apart from its GPU parts: a change to one that misses the other fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen import api
from bbgen.catalog import load_catalog
from bbgen.render.build import build_tree
from bbgen.render.units import build_units
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from bbgen.spec.merge import env_view
from support import ROOT

PROFILES = {p.stem: p for p in sorted((ROOT / "profiles").glob("*.yaml"))}


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_profiles_ship() -> None:
    assert {"betelgeuse", "minimal", "gpu", "multi-env"} <= set(PROFILES)


@pytest.mark.tools
@pytest.mark.parametrize("name", ["minimal", "gpu", "multi-env"])
def test_profile_renders_and_validates_clean(tmp_path: Path, tools: dict[str, str], name: str) -> None:
    """betelgeuse is validated through output-example/ (tests/test_render.py, tests/validate)."""
    out = tmp_path / name
    write_tree(build_tree(load_platform(PROFILES[name])), out)
    report = api.validate(out)
    errors = [str(f) for f in report.findings if f.severity == "error"]
    assert not errors, "\n".join(errors)


def test_gpu_profile_is_the_reference_plus_its_gpu_parts() -> None:
    ref, gpu = _yaml(PROFILES["betelgeuse"]), _yaml(PROFILES["gpu"])
    pool = gpu["nodePools"].pop("gpu")
    assert pool["role"] == "gpu" and pool["gpusPerNode"] >= 1 and pool["taints"]
    vllm = gpu["components"].pop("vllm")
    assert gpu.pop("llm") == "vllm" and ref.pop("llm") == "ollama"
    assert gpu["components"]["ollama"].pop("host") == "llm-cpu"
    assert vllm["basicAuth"] == {"enabled": True}
    assert gpu == ref


def test_gpu_profile_puts_vllm_on_the_pool_and_the_apps_on_vllm() -> None:
    platform = load_platform(PROFILES["gpu"])
    units = build_units(platform, load_catalog())
    assert units["orchestrator"].roles == {"llm": "vllm"}
    assert "vllm" in units["orchestrator"].depends_on and "ollama" not in units["orchestrator"].depends_on


def test_minimal_profile_is_small_and_single_node() -> None:
    platform = load_platform(PROFILES["minimal"])
    units = build_units(platform, load_catalog())
    assert sum(p.count for p in platform.node_pools.values()) == 1
    assert {"argocd", "postgres", "prometheus", "loki", "grafana", "cert-manager"} <= set(units)
    assert len(units) < 20


MULTI = ("prod", "staging", "dev")


def test_multi_env_profile_gives_each_environment_its_own_cluster_facts() -> None:
    """Three clusters, three domains, three API servers, static volumes on each cluster's own nodes."""
    platform = load_platform(PROFILES["multi-env"])
    assert sorted(platform.environments) == sorted(MULTI) and platform.gitops.hub == "prod"
    assert platform.ingress.provider == "gateway" and platform.storage.provisioner == "kubernetes.io/no-provisioner"
    views = {env: env_view(platform, env) for env in MULTI}
    facts: dict[str, list[object]] = {"cluster": [], "domain": [], "api server": [], "image": [], "nodes": []}
    for env, view in views.items():
        facts["cluster"].append(view.environments[env].cluster)
        facts["domain"].append(view.env_domain(env))
        facts["api server"].append(view.components["cilium"].settings["k8sServiceHost"])
        facts["image"].append(view.apps["api"].image)
        nodes = frozenset(v.node for v in view.storage.volumes)
        assert nodes and all(n.startswith(f"{env}-") for n in nodes), (env, nodes)
        facts["nodes"].append(nodes)
    for fact, values in facts.items():
        assert len(set(values)) == len(MULTI), f"{fact} is shared between environments: {values}"
    units = {env: build_units(views[env], load_catalog()) for env in MULTI}
    assert {"api", "postgres", "prometheus", "cilium", "gateway"} <= set(units["dev"])
    assert len(units["prod"]) < 20


def test_multi_env_profile_renders_each_image_and_api_server_only_in_its_environment(tmp_path: Path) -> None:
    out = tmp_path / "multi-env"
    platform = load_platform(PROFILES["multi-env"])
    write_tree(build_tree(platform), out)
    for env in MULTI:
        view = env_view(platform, env)
        image, host = view.apps["api"].image, str(view.components["cilium"].settings["k8sServiceHost"])
        tag = image.rsplit(":", 1)[1]
        holders = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.suffix == ".yaml" and tag in p.read_text(encoding="utf-8"))
        where = "components/api/base/deployment-api.yaml" if env == "prod" else f"components/api/overlays/{env}/kustomization.yaml"
        assert holders == [where], (env, holders)
        cilium = _yaml(out / "values" / "cilium" / f"{env}.yaml")
        assert cilium["k8sServiceHost"] == host
        servers = {_yaml(app)["spec"]["destination"]["server"] for app in (out / "apps" / env).glob("*.yaml") if app.name != "kustomization.yaml"}
        assert servers == {"https://kubernetes.default.svc" if env == "prod" else view.environments[env].cluster}, (env, servers)
        pvs = sorted(p.name for p in (out / "platform" / env).glob("persistentvolume-*.yaml"))
        assert pvs and all(name.startswith(f"persistentvolume-{env}-") for name in pvs), (env, pvs)
    # One Argo CD, on the hub: the spokes get none.
    assert sorted(p.parent.name for p in out.glob("apps/*/argocd.yaml")) == ["prod"]
