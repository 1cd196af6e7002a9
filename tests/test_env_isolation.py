"""Environments stay apart: no two share a public host, and no environment's output carries another's facts.

The first tests feed the spec checks clashing environments (a dev domain equal to
prod's, one host written into two environments) and expect a located error. The
others render every shipped profile and walk each environment's part of the tree
(its Applications and AppProjects, overlays, Helm values, platform objects and
bootstrap; and what its overlays build, bases included) for what is distinctive of
another environment: its public hosts, the API server Cilium is given, its cluster
URL, its TLS issuer, the nodes of its static volumes and the Secrets its apps read.
What is distinctive comes from the merged specs (`env_view`); a value two
environments share (the same issuer, the in-cluster API server address) is nobody's
to leak. Last, a hub's spokes hold nothing of what runs only on the hub.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bbgen.catalog import load_catalog
from bbgen.errors import SpecError
from bbgen.kube.names import fqdn
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from bbgen.spec.merge import env_view
from bbgen.spec.models import Platform
from support import ROOT, bbgen

PROFILES = {p.stem: p for p in sorted((ROOT / "profiles").glob("*.yaml"))}
MULTI = PROFILES["multi-env"].read_text(encoding="utf-8")


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# --- host collisions across environments ---------------------------------------------------------------------


def test_a_dev_domain_equal_to_prods_is_one_error_at_the_dev_domain(tmp_path: Path) -> None:
    text = MULTI.replace("domain: dev.shop.example.org", "domain: shop.example.org")
    spec = _spec(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        load_platform(spec)
    issues = caught.value.issues
    assert len(issues) == 1, [str(i) for i in issues]
    issue = issues[0]
    assert (issue.line, issue.path) == (_line_of(text, "    domain: shop.example.org"), "environments.dev.domain")
    assert "environment prod's domain shop.example.org" in issue.message and "api.shop.example.org" in issue.message
    # The same through the CLI: exit 2, the located line, no traceback, nothing written.
    run = bbgen("render", str(spec), "--out", str(tmp_path / "out"), "-q")
    assert run.returncode == 2 and not (tmp_path / "out").exists(), run.stderr
    assert f"platform.yaml:{issue.line}:" in run.stderr and "environments.dev.domain" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_host_written_into_two_environments_is_located_at_the_later_layer(tmp_path: Path) -> None:
    # staging's layer gives the API prod's full name: the two clusters would both answer it.
    text = MULTI.replace(
        "      api: {image: registry.shop.example.org/shop/api:1.5.0-rc.1}",
        "      api: {image: registry.shop.example.org/shop/api:1.5.0-rc.1, host: api.shop.example.org}",
    )
    spec = _spec(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        load_platform(spec)
    [issue] = caught.value.issues
    assert issue.line == _line_of(text, "host: api.shop.example.org")
    assert issue.path == "environments.staging.apps.api.host"
    assert "host api.shop.example.org is also environment prod's (claimed by 'api' there)" in issue.message


def test_a_clash_a_layer_resolves_is_not_reported_for_that_environment(tmp_path: Path) -> None:
    """Two apps on one host in the base, which staging's layer separates: prod and dev (which inherit it) clash,
    staging does not (each merged spec is checked on its own domain, not on every environment's)."""
    text = MULTI.replace(
        "      api: {image: registry.shop.example.org/shop/api:1.5.0-rc.1}",
        "      api: {image: registry.shop.example.org/shop/api:1.5.0-rc.1}\n      shop2: {host: api2}",
    )
    base_app = text.index("\napps:\n") + len("\napps:\n")
    text = text[:base_app] + "  shop2: {image: registry.shop.example.org/shop/api:1.4.2, port: 8080, host: api}\n" + text[base_app:]
    with pytest.raises(SpecError) as caught:
        load_platform(_spec(tmp_path, text))
    messages = [str(i) for i in caught.value.issues]
    assert sorted(re.findall(r"\(environment (\w+)\)", "\n".join(messages))) == ["dev", "prod"], messages


def test_the_same_label_on_each_environments_own_domain_is_no_clash() -> None:
    platform = load_platform(PROFILES["multi-env"])
    hosts = {env: fqdn("api", env_view(platform, env).env_domain(env)) for env in platform.environments}
    assert len(set(hosts.values())) == 3


# --- nothing of one environment in another's output ---------------------------------------------------------


def _public_hosts(view: Platform, env: str, catalog: dict[str, object]) -> set[str]:
    domain = view.env_domain(env)
    hosts: set[str] = set()
    for name, comp in view.components.items():
        label = getattr(catalog[name], "host", None) if comp.host is None else comp.host
        if comp.enabled and label:
            hosts.add(fqdn(label, domain))
    hosts.update(fqdn(app.host, domain) for app in view.apps.values() if app.enabled and app.host)
    return hosts


# Where Argo CD itself runs, as seen from Argo CD: every root Application's destination, no one cluster's name.
IN_CLUSTER = "https://kubernetes.default.svc"


def _facts(platform: Platform, env: str) -> dict[str, set[str]]:
    """What environment ``env``'s merged spec says about its own cluster, by kind.

    The GitOps repository's host is left out: every environment's Applications read
    the one repository, wherever Gitea runs.
    """
    view = env_view(platform, env)
    catalog: dict[str, object] = dict(load_catalog())
    api_servers = {str(c.settings["k8sServiceHost"]) for c in view.components.values() if c.enabled and c.settings.get("k8sServiceHost")}
    repo_host = urlsplit(view.gitops.url).hostname
    return {
        "host": _public_hosts(view, env, catalog) - {repo_host or ""},
        "API server": api_servers,
        "cluster URL": {view.environments[env].cluster} - {IN_CLUSTER},
        "TLS issuer": {view.env_issuer(env)},
        "node name": {v.node for v in view.storage.volumes},
        "secret name": {ref.secret for app in view.apps.values() if app.enabled for ref in app.secret_env},
    }


def _env_files(out: Path, env: str) -> list[Path]:
    """Environment ``env``'s part of a rendered tree as files (the Kustomize bases are everyone's)."""
    roots = [out / "apps" / env, out / "projects" / env, out / "platform" / env, out / "bootstrap" / env, *out.glob(f"components/*/overlays/{env}")]
    files = [p for root in roots if root.is_dir() for p in sorted(root.rglob("*")) if p.is_file()]
    return files + sorted(out.glob(f"values/*/{env}.yaml"))


def _mentions(value: str) -> re.Pattern[str]:
    """``value`` as a whole name or address (`api.example.org` is not in `api.dev.example.org`, nor in `xapi...`)."""
    return re.compile(rf"(?<![\w.-]){re.escape(value)}(?![\w-]|\.\w)")


def _foreign_facts(facts: dict[str, dict[str, set[str]]], env: str) -> Iterator[tuple[str, str, str]]:
    """(other environment, kind, value) for every fact of another environment that ``env`` does not share
    (shared values are nobody's to leak)."""
    for other in sorted(facts):
        if other != env:
            for kind, values in facts[other].items():
                for value in sorted(values - facts[env][kind]):
                    yield other, kind, value


def _cluster_issuer_names(path: Path, text: str) -> bool:
    """Whether ``text`` is the ClusterIssuers' own definitions (every cluster has both Let's Encrypt issuers)."""
    return "kind: ClusterIssuer" in text


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_no_environment_carries_another_environments_facts(tmp_path: Path, name: str) -> None:
    platform = load_platform(PROFILES[name])
    envs = sorted(platform.environments)
    out = tmp_path / name
    write_tree(build_tree(platform), out)
    facts = {env: _facts(platform, env) for env in envs}
    leaks: list[str] = []
    for env in envs:
        files = {p: p.read_text(encoding="utf-8") for p in _env_files(out, env)}
        assert files, f"environment {env} rendered nothing of its own"
        for other, kind, value in _foreign_facts(facts, env):
            pattern = _mentions(value)
            for path, text in files.items():
                if kind == "TLS issuer" and _cluster_issuer_names(path, text):
                    continue
                if pattern.search(text):
                    leaks.append(f"{path.relative_to(out)}: environment {other}'s {kind} {value} in environment {env}")
    assert not leaks, "\n".join(leaks)


def test_the_walk_finds_a_leak_when_there_is_one(tmp_path: Path) -> None:
    """The isolation test is not vacuous: prod's API server copied into dev's layer is seen in dev's values."""
    text = MULTI.replace('k8sServiceHost: "203.0.113.30"', 'k8sServiceHost: "198.51.100.10"')
    platform = load_platform(_spec(tmp_path, text))
    out = tmp_path / "out"
    write_tree(build_tree(platform), out)
    prod = _facts(load_platform(PROFILES["multi-env"]), "prod")["API server"]
    hits = [p for p in _env_files(out, "dev") for v in prod if _mentions(v).search(p.read_text(encoding="utf-8"))]
    assert [str(p.relative_to(out)) for p in hits] == ["values/cilium/dev.yaml"]


def _built(kustomize: str, root: Path) -> str:
    run = subprocess.run([kustomize, "build", str(root)], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, f"kustomize build {root}: {run.stderr}"
    return run.stdout


@pytest.mark.tools
@pytest.mark.parametrize("name", [n for n, p in PROFILES.items() if len(load_platform(p).environments) > 1])
def test_no_environment_builds_another_environments_facts(tmp_path: Path, tools: dict[str, str], name: str) -> None:
    """What each environment's overlays build (base included: what a base leaves unpatched is that environment's too)."""
    platform = load_platform(PROFILES[name])
    envs = sorted(platform.environments)
    out = tmp_path / name
    write_tree(build_tree(platform), out)
    facts = {env: _facts(platform, env) for env in envs}
    leaks: list[str] = []
    for env in envs:
        roots = [out / "apps" / env, out / "platform" / env, *sorted(out.glob(f"components/*/overlays/{env}"))]
        built = {root: _built(tools["kustomize"], root) for root in roots}
        for other, kind, value in _foreign_facts(facts, env):
            for root, text in built.items():
                docs = [d for d in text.split("\n---\n") if not (kind == "TLS issuer" and "kind: ClusterIssuer" in d)]
                if any(_mentions(value).search(d) for d in docs):
                    leaks.append(f"{root.relative_to(out)}: environment {other}'s {kind} {value} in environment {env}'s build")
    assert not leaks, "\n".join(leaks)


def test_a_spoke_holds_nothing_of_what_runs_only_on_the_hub(tmp_path: Path) -> None:
    """What has an Application on the hub but none on a spoke leaves no host, namespace or Secret on that spoke."""
    from bbgen import api

    spec = PROFILES["multi-env"]
    platform = load_platform(spec)
    out = tmp_path / "out"
    write_tree(build_tree(platform), out)
    catalog = load_catalog()
    hub = platform.gitops.hub

    def applications(env: str) -> set[str]:
        return {p.stem for p in (out / "apps" / env).glob("*.yaml")} - {"kustomization"}

    traces: list[str] = []
    for spoke in sorted(set(platform.environments) - {hub}):
        absent = {n for n in applications(hub) - applications(spoke) if n in catalog}
        assert absent, f"{spoke} runs everything the hub runs: nothing to check"
        domain = env_view(platform, spoke).env_domain(spoke)
        for name in sorted(absent):
            label = catalog[name].host
            host = fqdn(label, domain) if label else None
            for path in _env_files(out, spoke):
                text = path.read_text(encoding="utf-8")
                if host and _mentions(host).search(text):
                    traces.append(f"{path.relative_to(out)}: host {host} of {name}, which does not run in {spoke}")
            namespace = catalog[name].namespace
            if (out / "platform" / spoke / f"namespace-{namespace}.yaml").exists() and not any(
                catalog[other].namespace == namespace for other in applications(spoke) if other in catalog
            ):
                traces.append(f"platform/{spoke}/namespace-{namespace}.yaml: only {name} lives there, and it does not run in {spoke}")
        for secret in api.secrets_plan(spec, spoke).env(spoke).secrets:
            if secret.used_by and set(secret.used_by) <= absent:
                traces.append(f"secrets plan {spoke}: {secret.namespace}/{secret.name} used only by {', '.join(secret.used_by)}")
    assert not traces, "\n".join(traces)
