"""Hub and spokes (issue #15): one Argo CD on the hub, one owner per Argo CD object, each environment on its cluster.

The render is walked as kustomize would walk it (every kustomization root and what it
includes), so an AppProject shared by two environments' apps/ directories fails here;
validate's own checks are proven against the real kustomize and kubeconform on a real
render, clean first and then with the two faults they exist for.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen import api
from bbgen.errors import SpecError
from bbgen.render.build import build_tree
from bbgen.render.inventory import inventory_for
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from bbgen.validate.discover import discover
from bbgen.validate.findings import Report
from support import ROOT

IN_CLUSTER = "https://kubernetes.default.svc"
PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))


def _variant(tmp_path: Path, profile: Path, edit: Callable[[dict[str, Any]], None], name: str = "spec.yaml") -> Path:
    data = yaml.safe_load(profile.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _per_cluster(data: dict[str, Any]) -> None:
    data["gitops"]["mode"] = "per-cluster"


def _render(spec: Path, out: Path) -> Path:
    write_tree(build_tree(load_platform(spec)), out)
    return out


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]


def _owners(root: Path) -> dict[tuple[str, str, str], set[str]]:
    """(kind, namespace, name) of every Application and AppProject -> the kustomization roots whose build holds it."""
    layout = discover(root)
    out: dict[tuple[str, str, str], set[str]] = {}
    for build_root in layout.roots:
        for kdir in layout.closure(build_root):
            for rel in layout.kustomizations[kdir].resource_files:
                for doc in _docs(root / rel):
                    if doc.get("kind") in ("Application", "AppProject"):
                        meta = doc["metadata"]
                        out.setdefault((doc["kind"], meta.get("namespace", ""), meta["name"]), set()).add(build_root)
    return out


def _apps(root: Path, env: str) -> dict[str, dict[str, Any]]:
    return {p.stem: _docs(p)[0] for p in sorted((root / "apps" / env).glob("*.yaml")) if p.name != "kustomization.yaml"}


@pytest.mark.parametrize("mode", ["hub", "per-cluster"])
@pytest.mark.parametrize("profile", PROFILES, ids=[p.stem for p in PROFILES])
def test_no_application_or_appproject_is_owned_by_two_roots(tmp_path: Path, profile: Path, mode: str) -> None:
    spec = profile if mode == "hub" else _variant(tmp_path, profile, _per_cluster)
    root = _render(spec, tmp_path / "out")
    owners = _owners(root)
    shared = {k: sorted(v) for k, v in owners.items() if len(v) > 1}
    assert not shared, shared
    envs = sorted(p.name for p in (root / "apps").iterdir())
    # the walk saw every environment's Applications and AppProjects, each under its own apps/<env> root
    for env in envs:
        assert {k[0] for k, v in owners.items() if v == {f"apps/{env}"}} == {"Application", "AppProject"}, env


def test_the_old_shared_projects_directory_is_caught_by_the_walk(tmp_path: Path) -> None:
    """The walk is not vacuous: the layout before issue #15 (one projects/ in every apps/<env>) fails it."""
    root = _render(ROOT / "profiles" / "betelgeuse.yaml", tmp_path / "out")
    kust = root / "apps" / "staging" / "kustomization.yaml"
    kust.write_text(kust.read_text(encoding="utf-8").replace("../../projects/staging", "../../projects/prod"), encoding="utf-8")
    shared = {k for k, v in _owners(root).items() if len(v) > 1}
    assert shared and {k[0] for k in shared} == {"AppProject"}


def test_hub_mode_puts_argo_cd_on_the_hub_and_each_environment_on_its_cluster(tmp_path: Path) -> None:
    root = _render(ROOT / "profiles" / "betelgeuse.yaml", tmp_path / "out")
    prod, staging = _apps(root, "prod"), _apps(root, "staging")
    staging_cluster = load_platform(ROOT / "profiles" / "betelgeuse.yaml").environments["staging"].cluster
    assert "argocd" in prod and "argocd" not in staging  # spokes run no Argo CD
    assert (root / "components/argocd").is_dir()
    assert {a["spec"]["destination"]["server"] for a in prod.values()} == {IN_CLUSTER}
    assert {a["spec"]["destination"]["server"] for a in staging.values()} == {staging_cluster}
    for env, apps in (("prod", prod), ("staging", staging)):
        assert {a["spec"]["project"].partition("-")[0] for a in apps.values()} == {env}
        projects = [_docs(p)[0] for p in sorted((root / "projects" / env).glob("appproject-*.yaml"))]
        assert {p["metadata"]["name"] for p in projects} == {a["spec"]["project"] for a in apps.values()}
        server = IN_CLUSTER if env == "prod" else staging_cluster
        assert {d["server"] for p in projects for d in p["spec"]["destinations"]} == {server}, env
        root_app = _docs(root / "bootstrap" / env / "root-app.yaml")[0]
        assert root_app["spec"]["destination"]["server"] == IN_CLUSTER  # applied on the hub, makes Argo CD objects there
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "argocd cluster add" not in readme and "`argocd/cluster-staging`" in readme
    assert "-f values/argocd/prod.yaml   # prod" in readme and "values/argocd/staging.yaml" not in readme
    # Secrets are per environment: one generate (and one apply, on that cluster) for each
    for env in ("prod", "staging"):
        assert f'bbgen secrets generate "$SPEC" --env {env} --out ~/secrets/betelgeuse/{env}\n' in readme, env
        assert f"kubectl apply -f ~/secrets/betelgeuse/{env}   # on {env}'s cluster" in readme, env


def test_per_cluster_mode_gives_every_cluster_its_own_argo_cd_managing_only_itself(tmp_path: Path) -> None:
    spec = _variant(tmp_path, ROOT / "profiles" / "betelgeuse.yaml", _per_cluster)
    root = _render(spec, tmp_path / "out")
    for env in ("prod", "staging"):
        apps = _apps(root, env)
        assert "argocd" in apps
        assert {a["spec"]["destination"]["server"] for a in apps.values()} == {IN_CLUSTER}
    assert not [s for s in inventory_for(load_platform(spec)).secrets if s.name.startswith("cluster-")]
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "runs its own Argo CD" in readme and "-f values/argocd/staging.yaml   # staging" in readme


def test_a_spoke_is_registered_by_a_planned_cluster_secret_and_nothing_of_it_is_rendered(tmp_path: Path) -> None:
    spec = ROOT / "profiles" / "betelgeuse.yaml"
    platform = load_platform(spec)
    [plan] = [s for s in inventory_for(platform).secrets if s.name == "cluster-staging"]
    assert plan.namespace == "argocd" and plan.labels == {"argocd.argoproj.io/secret-type": "cluster"}
    assert (plan.keys["name"].source, plan.keys["name"].value) == ("fixed", "staging")
    assert (plan.keys["server"].source, plan.keys["server"].value) == ("fixed", platform.environments["staging"].cluster)
    assert plan.keys["config"].source == "supply"  # credentials out of band
    files = build_tree(platform).with_manifest()
    assert not [p for p, body in files.items() if b"cluster-staging" in body and not p.endswith("README.md")]


def test_the_hub_must_be_an_environment(tmp_path: Path) -> None:
    spec = _variant(tmp_path, ROOT / "profiles" / "minimal.yaml", lambda d: d["gitops"].update(hub="prd"))
    with pytest.raises(SpecError) as err:
        load_platform(spec)
    assert "gitops.hub" in str(err.value) and "'prd' is not an environment (did you mean 'prod'?)" in str(err.value)
    assert str(err.value).startswith(f"{spec}:")


def test_a_spoke_of_the_hub_must_name_its_own_cluster(tmp_path: Path) -> None:
    def two_envs(data: dict[str, Any]) -> None:
        data["environments"] = {"prod": {"cluster": "https://prod.k8s.example.test:6443"}, "staging": {}}

    spec = _variant(tmp_path, ROOT / "profiles" / "minimal.yaml", two_envs)
    with pytest.raises(SpecError) as err:
        load_platform(spec)
    assert "environments.staging" in str(err.value) and "names no cluster of its own" in str(err.value)

    def per_cluster(data: dict[str, Any]) -> None:
        two_envs(data)
        _per_cluster(data)

    assert load_platform(_variant(tmp_path, ROOT / "profiles" / "minimal.yaml", per_cluster, "ok.yaml")).gitops.mode == "per-cluster"


def _findings(report: Report, check: str) -> list[str]:
    return [f"{f.file}: {f.message}" for f in report.findings if f.check == check and f.severity == "error"]


@pytest.mark.tools
def test_validate_flags_an_application_off_its_cluster_and_an_object_with_two_owners(tmp_path: Path, tools: dict[str, str]) -> None:
    root = _render(ROOT / "profiles" / "betelgeuse.yaml", tmp_path / "out")
    clean = api.validate(root)
    assert not _findings(clean, "argo-destination") and not _findings(clean, "argo-owner")

    app = root / "apps" / "staging" / "redis.yaml"
    doc = _docs(app)[0]
    doc["spec"]["destination"]["server"] = IN_CLUSTER  # staging's redis deployed into the hub (prod)
    app.write_text(yaml.safe_dump(doc), encoding="utf-8")
    kust = root / "apps" / "staging" / "kustomization.yaml"
    body = yaml.safe_load(kust.read_text(encoding="utf-8"))
    body["resources"].append("../../projects/prod")  # prod's AppProjects now owned by both roots
    kust.write_text(yaml.safe_dump(body), encoding="utf-8")

    report = api.validate(root)
    wrong = _findings(report, "argo-destination")
    assert wrong == [
        f"apps/staging/redis.yaml: Application of environment staging deploys to {IN_CLUSTER} (environment prod's cluster), "
        f"not its environment's cluster {load_platform(ROOT / 'profiles' / 'betelgeuse.yaml').environments['staging'].cluster}"
    ]
    owned = _findings(report, "argo-owner")
    assert owned and all("built by 2 kustomization roots (apps/prod, apps/staging)" in f for f in owned)
    assert {f.split(":")[0] for f in owned} == {str(p.relative_to(root)) for p in (root / "projects" / "prod").glob("appproject-*.yaml")}
