"""Custom apps' workload fields beyond the kind: named ports, env from other sources, autoscaling,
disruption budgets and topology spread, and a migration hook.

The objects are read back from the rendered tree; one spec with every field goes through the real
kustomize, kubeconform and the cross-resource checks (`api.validate`); every misfit is a located
spec error (checked in process, and once per field group through the CLI: exit 2, nothing written).
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

PORTS = """\
  api:
    image: registry.example.org/api:1.0
    host: api
    ports:
      - {name: metrics, port: 9090}
      - {name: web, port: 8000, route: true}
      - {name: gossip, port: 7946, protocol: UDP}
    resources: {requests: {cpu: 250m}}
    autoscale: {min: 2, max: 6, cpu: 70}
  sidecar:
    image: registry.example.org/sidecar:1.0
    kind: worker
    ports: [{name: admin, port: 9000}]
    probes: {type: tcp}
  caller:
    image: registry.example.org/caller:1.0
    namespace: callers
    dependsOn: [api]
"""

VALUE_FROM = """\
  reader:
    image: registry.example.org/reader:1.0
    kind: worker
    env:
      - {name: LITERAL, value: plain}
      - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
      - {name: TEAM, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app.kubernetes.io/name']"}}}
      - {name: FLAGS, valueFrom: {configMapKeyRef: {name: feature-flags, key: flags.json, optional: true}}}
      - {name: API_TOKEN, valueFrom: {secretKeyRef: {name: reader-api, key: token}}}
      - {name: EXTRA_TOKEN, valueFrom: {secretKeyRef: {name: reader-api, key: extra, optional: true}}}
"""

SPREAD = """\
  crawler:
    image: registry.example.org/crawler:1.0
    kind: worker
    replicas: 3
  batch:
    image: registry.example.org/batch:1.0
    kind: job
    replicas: 3
"""

MIGRATE = """\
  shop:
    image: registry.example.org/shop:2.0
    host: shop
    replicas: 2
    dependsOn: [postgres]
    imagePullSecrets: [registry-pull]
    serviceAccount: shop-runner
    env: [{name: MODE, value: production}]
    migrate: {command: [python, manage.py, migrate], args: [--noinput]}
"""

EVERYTHING = BASE + PORTS + VALUE_FROM + SPREAD + MIGRATE


def _render(tmp_path: Path, text: str) -> Path:
    (tmp_path / "platform.yaml").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(tmp_path / "platform.yaml")), out)
    return out


def _docs(out: Path, app: str, where: str = "base") -> list[dict[str, Any]]:
    folder = out / "components" / app / where
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.yaml")) if p.name != "kustomization.yaml"]


def _objects(out: Path, app: str) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in _docs(out, app)}


def _pod(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = _pod(workload)["containers"]
    assert len(containers) == 1
    return containers[0]


def _error(tmp_path: Path, text: str) -> str:
    (tmp_path / "platform.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_platform(tmp_path / "platform.yaml")
    return str(caught.value)


def _app(body: str, name: str = "a") -> str:
    return BASE + f"  {name}:\n    image: registry.example.org/{name}:1.0\n" + body


def _policies(out: Path, kind: str = "NetworkPolicy") -> list[dict[str, Any]]:
    found = []
    for path in sorted(out.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == kind:
                found.append(doc)
    return found


# --- ports -------------------------------------------------------------------------------------------


def test_named_ports_reach_container_service_probes_and_route(tmp_path: Path) -> None:
    out = _render(tmp_path, EVERYTHING)
    api_ = _objects(out, "api")
    c = _container(api_["Deployment"])
    assert c["ports"] == [
        {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
        {"name": "web", "containerPort": 8000, "protocol": "TCP"},
        {"name": "gossip", "containerPort": 7946, "protocol": "UDP"},
    ]
    assert api_["Service"]["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"},
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"},
        {"name": "gossip", "port": 7946, "targetPort": "gossip", "protocol": "UDP"},
    ]
    assert c["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "web"}
    backend = api_["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "api", "port": {"name": "http"}}
    # The dependant in another namespace may reach every port, each with its protocol; the edge only the routed one.
    allow = next(p for p in _policies(out) if p["metadata"]["name"] == "allow-api")
    ports = [r["ports"] for r in allow["spec"]["ingress"]]
    assert ports[0] == [{"protocol": "UDP", "port": 7946}, {"protocol": "TCP", "port": 8000}, {"protocol": "TCP", "port": 9090}]
    assert [{"protocol": "TCP", "port": 8000}] in ports[1:]

    worker = _objects(out, "sidecar")
    assert set(worker) == {"Deployment"}
    c = _container(worker["Deployment"])
    assert c["ports"] == [{"name": "admin", "containerPort": 9000, "protocol": "TCP"}]
    assert c["readinessProbe"]["tcpSocket"] == {"port": "admin"}


GATEWAY = MINIMAL_SPEC + """\
ingress: {provider: gateway, className: cilium}
components:
  cert-manager: {}
  cluster-issuers: {}
  gateway-api: {}
  gateway: {}
  cilium: {settings: {k8sServiceHost: "10.0.0.10"}}
apps:
  api:
    image: registry.example.org/api:1.0
    host: api
    ports: [{name: metrics, port: 9090}, {name: web, port: 8000, route: true}]
"""


@pytest.mark.tools
def test_through_a_gateway_the_route_and_its_policy_reach_the_routed_port(tmp_path: Path, tools: dict[str, str]) -> None:
    out = _render(tmp_path, GATEWAY)
    route = _objects(out, "api")["HTTPRoute"]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "api", "port": 80}]
    policy = next(p for p in _policies(out, "CiliumNetworkPolicy") if p["metadata"]["name"] == "allow-api-from-gateway")
    assert [r["toPorts"] for r in policy["spec"]["ingress"]] == [[{"ports": [{"port": "8000", "protocol": "TCP"}]}]]
    errors = [str(f) for f in api.validate(out).findings if f.severity == "error"]
    assert not errors, "\n".join(errors)


def test_one_port_shorthand_is_unchanged(tmp_path: Path) -> None:
    out = _render(tmp_path, _app("    port: 3000\n"))
    a = _objects(out, "a")
    assert _container(a["Deployment"])["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    assert a["Service"]["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]


def test_a_single_port_in_ports_is_routed_without_saying_so(tmp_path: Path) -> None:
    out = _render(tmp_path, _app("    host: a\n    ports: [{name: web, port: 8000}]\n"))
    a = _objects(out, "a")
    assert a["Service"]["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"}]


PORT_ERRORS = [
    ("    port: 9000\n    ports: [{name: web, port: 8000}]\n", "platform.yaml:13:11: apps.a.port", "not both"),
    ("    kind: job\n    ports: [{name: web, port: 8000}]\n", "apps.a.ports", "a job serves no port"),
    ("    ports: [{name: web, port: 8000}, {name: web, port: 8001}]\n", "apps.a.ports[1].name", "already used by ports[0]"),
    ("    ports: [{name: web, port: 8000}, {name: alt, port: 8000}]\n", "apps.a.ports[1].port", "TCP port 8000 is already ports[0]"),
    ("    ports: [{name: web, port: 8000, route: true}, {name: alt, port: 8001, route: true}]\n", "apps.a.ports[1].route", "only one port is routed"),
    ("    host: a\n    ports: [{name: web, port: 8000}, {name: alt, port: 8001}]\n", "apps.a.ports", "mark the one the host routes to"),
    ("    kind: worker\n    ports: [{name: web, port: 8000, route: true}]\n", "apps.a.ports[0].route", "a worker has no Service"),
    ("    ports: [{name: dns, port: 53, protocol: UDP}]\n", "apps.a.ports[0].protocol", "must be TCP"),
    ("    ports: [{name: web, port: 8000}, {name: http, port: 8001}]\n", "apps.a.ports[1].name", "rename this one"),
    ("    ports: [{name: web, port: 8000}, {name: alt, port: 80}]\n", "apps.a.ports[1].port", "use another number"),
    ("    ports: [{name: Web, port: 8000}]\n", "apps.a.ports[0].name", "not a port name"),
    ("    ports: [{name: a-very-long-port-name, port: 8000}]\n", "apps.a.ports[0].name", "at most 15"),
    ("    ports: [{name: '8000', port: 8000}]\n", "apps.a.ports[0].name", "not a port name"),
    ("    ports: [{name: web, port: 8000, protocol: SCTP}]\n", "apps.a.ports[0].protocol", ""),
]


@pytest.mark.parametrize("body,where,words", PORT_ERRORS)
def test_port_misfits_are_located_errors(tmp_path: Path, body: str, where: str, words: str) -> None:
    err = _error(tmp_path, _app(body))
    assert where in err and words in err, err


def test_ports_per_environment(tmp_path: Path) -> None:
    text = _app("    port: 9000\n") + """\
environments:
  prod: {}
  staging:
    domain: staging.example.org
    cluster: https://staging.example.org:6443
    apps:
      a: {port: null, ports: [{name: web, port: 8000}, {name: metrics, port: 9090}]}
"""
    out = _render(tmp_path, text)
    assert _container(_objects(out, "a")["Deployment"])["ports"] == [{"name": "http", "containerPort": 9000, "protocol": "TCP"}]
    staged = "\n".join(p.read_text(encoding="utf-8") for p in sorted((out / "components/a/overlays/staging").glob("*.yaml")))
    assert "metrics" in staged and "9090" in staged
    err = _error(tmp_path, text.replace("a: {port: null, ", "a: {"))
    assert "platform.yaml:13:11: apps.a.port: give either" in err and "(in environment staging)" in err, err


# --- env valueFrom ----------------------------------------------------------------------------------


def test_env_value_from_renders_the_kubernetes_shapes(tmp_path: Path) -> None:
    out = _render(tmp_path, EVERYTHING)
    env = {e["name"]: e for e in _container(_objects(out, "reader")["Deployment"])["env"]}
    assert env["LITERAL"] == {"name": "LITERAL", "value": "plain"}
    assert env["POD_IP"] == {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
    assert env["TEAM"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.labels['app.kubernetes.io/name']"}}
    assert env["FLAGS"]["valueFrom"] == {"configMapKeyRef": {"name": "feature-flags", "key": "flags.json", "optional": True}}
    assert env["API_TOKEN"]["valueFrom"] == {"secretKeyRef": {"name": "reader-api", "key": "token"}}


def test_a_secret_read_by_value_from_is_in_the_secrets_plan(tmp_path: Path) -> None:
    (tmp_path / "platform.yaml").write_text(EVERYTHING, encoding="utf-8")
    from bbgen.render.inventory import inventory_for

    inventory = inventory_for(load_platform(tmp_path / "platform.yaml"), "prod")
    plan = next(s for s in inventory.secrets if s.ref == "apps/reader-api")
    assert plan.used_by == ("reader",)
    assert plan.keys["token"].source == "supply" and not plan.keys["token"].optional
    assert plan.keys["extra"].optional


VALUE_FROM_ERRORS = [
    ("    env: [{name: A}]\n", "platform.yaml:13:11: apps.a.env[0]", "exactly one of `value`"),
    ("    env: [{name: A, value: x, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]\n", "apps.a.env[0]", "exactly one of `value`"),
    ("    env: [{name: A, valueFrom: {}}]\n", "apps.a.env[0].valueFrom", "exactly one of `fieldRef`"),
    ("    env: [{name: A, valueFrom: {fieldRef: {fieldPath: metadata.name}, secretKeyRef: {name: s, key: k}}}]\n",
     "apps.a.env[0].valueFrom", "exactly one of `fieldRef`"),
    ("    env: [{name: A, valueFrom: {fieldRef: {fieldPath: spec.containers}}}]\n", "apps.a.env[0].valueFrom.fieldRef.fieldPath", "not a pod field"),
    ("    env: [{name: A, valueFrom: {secretKeyRef: {name: Bad_Name, key: k}}}]\n", "apps.a.env[0].valueFrom.secretKeyRef.name", "not a DNS name"),
    ("    env: [{name: A, valueFrom: {configMapKeyRef: {name: c, key: 'a b'}}}]\n", "apps.a.env[0].valueFrom.configMapKeyRef.key", "not a Secret key"),
    ("    env: [{name: A, valueFrom: {fieldRef: {fieldPath: metadata.name}}, expand: true}]\n", "apps.a.env[0]", "`expand` is for a literal"),
    ("    dependsOn: [postgres]\n    env: [{name: POSTGRES_HOST, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}]\n",
     "apps.a.env[0].name", "override: true"),
]


@pytest.mark.parametrize("body,where,words", VALUE_FROM_ERRORS)
def test_value_from_misfits_are_located_errors(tmp_path: Path, body: str, where: str, words: str) -> None:
    err = _error(tmp_path, _app(body))
    assert where in err and words in err, err


@pytest.mark.tools
def test_validate_refuses_a_required_configmap_nobody_renders(tmp_path: Path, tools: dict[str, str]) -> None:
    out = _render(tmp_path, _app("    env: [{name: A, valueFrom: {configMapKeyRef: {name: nowhere, key: k}}}]\n"))
    errors = [str(f) for f in api.validate(out).findings if f.severity == "error"]
    assert any("ConfigMap 'nowhere'" in e for e in errors), errors


# --- autoscale -----------------------------------------------------------------------------------------


def test_autoscale_renders_an_hpa_and_leaves_replicas_to_it(tmp_path: Path) -> None:
    out = _render(tmp_path, EVERYTHING)
    api_ = _objects(out, "api")
    hpa = api_["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2" and hpa["metadata"]["namespace"] == "apps"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert hpa["spec"]["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]
    assert "replicas" not in api_["Deployment"]["spec"]
    assert _objects(out, "sidecar")["Deployment"]["spec"]["replicas"] == 1
    assert "HorizontalPodAutoscaler" not in _objects(out, "sidecar")


def _built(tools: dict[str, str], out: Path, app: str, env: str) -> dict[str, dict[str, Any]]:
    """The app's objects in ``env`` as the real kustomize builds its overlay."""
    result = subprocess.run([tools["kustomize"], "build", str(out / "components" / app / "overlays" / env)],
                            capture_output=True, text=True, timeout=120, check=True)
    return {d["kind"]: d for d in yaml.safe_load_all(result.stdout) if isinstance(d, dict)}


@pytest.mark.tools
def test_autoscale_per_environment_merges_and_null_removes_it(tmp_path: Path, tools: dict[str, str]) -> None:
    text = _app("    resources: {requests: {cpu: 250m}}\n    autoscale: {min: 2, max: 4}\n") + """\
environments:
  prod: {}
  staging:
    domain: staging.example.org
    cluster: https://staging.example.org:6443
    apps:
      a: {autoscale: {max: 10, cpu: 60}}
  dev:
    domain: dev.example.org
    cluster: https://dev.example.org:6443
    apps:
      a: {autoscale: null, replicas: 1}
"""
    (tmp_path / "platform.yaml").write_text(text, encoding="utf-8")
    from bbgen.spec.merge import env_view

    platform = load_platform(tmp_path / "platform.yaml")
    staging = env_view(platform, "staging").apps["a"].autoscale
    assert staging is not None and (staging.min, staging.max, staging.cpu) == (2, 10, 60)
    assert env_view(platform, "dev").apps["a"].autoscale is None
    out = tmp_path / "out"
    write_tree(build_tree(platform), out)
    prod = _built(tools, out, "a", "prod")
    assert prod["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] == 4 and "replicas" not in prod["Deployment"]["spec"]
    staging_hpa = _built(tools, out, "a", "staging")["HorizontalPodAutoscaler"]["spec"]
    assert (staging_hpa["minReplicas"], staging_hpa["maxReplicas"]) == (2, 10)
    assert staging_hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    dev = _built(tools, out, "a", "dev")
    assert "HorizontalPodAutoscaler" not in dev and dev["Deployment"]["spec"]["replicas"] == 1


AUTOSCALE_ERRORS = [
    ("    resources: {requests: {cpu: 1}}\n    autoscale: {min: 3, max: 2}\n", "platform.yaml:14:16: apps.a.autoscale", "max (2) is below min (3)"),
    ("    resources: {requests: {cpu: 1}}\n    autoscale: {min: 0, max: 2}\n", "apps.a.autoscale.min", ""),
    ("    resources: {requests: {cpu: 1}}\n    autoscale: {max: 2, cpu: 101}\n", "apps.a.autoscale.cpu", ""),
    ("    resources: {requests: {cpu: 1}}\n    autoscale: {min: 2}\n", "apps.a.autoscale.max", ""),
    ("    autoscale: {max: 3}\n", "platform.yaml:13:16: apps.a.autoscale", "needs resources.requests.cpu"),
    ("    resources: {limits: {cpu: 1}}\n    autoscale: {max: 3}\n", "apps.a.autoscale", "needs resources.requests.cpu"),
    ("    kind: job\n    resources: {requests: {cpu: 1}}\n    autoscale: {max: 3}\n", "apps.a.autoscale", "only kind: service or worker"),
    ("    replicas: 2\n    resources: {requests: {cpu: 1}}\n    autoscale: {max: 3}\n", "platform.yaml:13:15: apps.a.replicas", "drop replicas"),
]


@pytest.mark.parametrize("body,where,words", AUTOSCALE_ERRORS)
def test_autoscale_misfits_are_located_errors(tmp_path: Path, body: str, where: str, words: str) -> None:
    err = _error(tmp_path, _app(body))
    assert where in err and words in err, err


# --- disruption budget and topology spread ---------------------------------------------------------------

SPREAD_CONSTRAINT = {
    "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
    "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "NAME", "app.kubernetes.io/instance": "NAME"}},
}


def _spread(name: str) -> list[dict[str, Any]]:
    text = yaml.safe_dump([SPREAD_CONSTRAINT]).replace("NAME", name)
    loaded: list[dict[str, Any]] = yaml.safe_load(text)
    return loaded


@pytest.mark.parametrize("app,spread", [("api", True), ("crawler", True), ("sidecar", False), ("reader", False), ("caller", False)])
def test_several_pods_get_a_budget_and_spread_across_nodes(tmp_path_factory: pytest.TempPathFactory, app: str, spread: bool) -> None:
    out = _render(tmp_path_factory.mktemp("spread"), EVERYTHING)
    objects = _objects(out, app)
    pod = _pod(objects["Deployment"])
    if not spread:
        assert "PodDisruptionBudget" not in objects and "topologySpreadConstraints" not in pod
        return
    pdb = objects["PodDisruptionBudget"]
    assert pdb["apiVersion"] == "policy/v1" and pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": app}}
    assert pdb["spec"]["selector"]["matchLabels"].items() <= objects["Deployment"]["spec"]["template"]["metadata"]["labels"].items()
    assert pod["topologySpreadConstraints"] == _spread(app)


def test_a_job_with_replicas_gets_no_budget(tmp_path: Path) -> None:
    out = _render(tmp_path, EVERYTHING)
    objects = _objects(out, "batch")
    assert set(objects) == {"Job"} and "topologySpreadConstraints" not in _pod(objects["Job"])


@pytest.mark.tools
def test_the_budget_follows_the_replicas_of_each_environment(tmp_path: Path, tools: dict[str, str]) -> None:
    text = _app("    replicas: 2\n") + """\
environments:
  prod: {}
  staging:
    domain: staging.example.org
    cluster: https://staging.example.org:6443
    apps:
      a: {replicas: 1}
"""
    out = _render(tmp_path, text)
    assert "PodDisruptionBudget" in _built(tools, out, "a", "prod")
    staging = _built(tools, out, "a", "staging")
    assert "PodDisruptionBudget" not in staging and "topologySpreadConstraints" not in _pod(staging["Deployment"])


# --- migrate -------------------------------------------------------------------------------------------


def test_migrate_is_a_presync_hook_job_with_the_apps_image_env_and_identity(tmp_path: Path) -> None:
    out = _render(tmp_path, EVERYTHING)
    docs = _docs(out, "shop")
    jobs = [d for d in docs if d["kind"] == "Job"]
    assert len(jobs) == 1
    job = jobs[0]
    assert job["metadata"]["name"] == "shop-migrate"
    assert job["metadata"]["annotations"] == {"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation"}
    pod, deployment = _pod(job), next(d for d in docs if d["kind"] == "Deployment")
    app_pod, c, app_c = _pod(deployment), _container(job), _container(deployment)
    assert c["image"] == app_c["image"] == "registry.example.org/shop:2.0"
    assert c["command"] == ["python", "manage.py", "migrate"] and c["args"] == ["--noinput"]
    assert c["env"] == app_c["env"] and "POSTGRES_HOST" in {e["name"] for e in c["env"]}
    assert pod["imagePullSecrets"] == app_pod["imagePullSecrets"] == [{"name": "registry-pull"}]
    assert pod["serviceAccountName"] == "shop-runner" and pod["restartPolicy"] == "OnFailure"
    assert "ports" not in c and "readinessProbe" not in c and "topologySpreadConstraints" not in pod
    # The app's Service and budget select the app's pods, never the migration's.
    labels = job["spec"]["template"]["metadata"]["labels"]
    selector = next(d for d in docs if d["kind"] == "Service")["spec"]["selector"]
    assert not selector.items() <= labels.items()
    assert labels["app.kubernetes.io/name"] == "shop-migrate"


@pytest.mark.tools
def test_migrate_per_environment(tmp_path: Path, tools: dict[str, str]) -> None:
    text = _app("    migrate: {command: [migrate], args: [up]}\n") + """\
environments:
  prod: {}
  staging:
    domain: staging.example.org
    cluster: https://staging.example.org:6443
    apps:
      a: {migrate: {args: [up, --dry-run]}}
  dev:
    domain: dev.example.org
    cluster: https://dev.example.org:6443
    apps:
      a: {migrate: null}
"""
    out = _render(tmp_path, text)
    assert _container(_built(tools, out, "a", "prod")["Job"])["args"] == ["up"]
    staged = _container(_built(tools, out, "a", "staging")["Job"])
    assert staged["command"] == ["migrate"] and staged["args"] == ["up", "--dry-run"]
    assert "Job" not in _built(tools, out, "a", "dev")


MIGRATE_ERRORS = [
    ("    migrate: {args: [x]}\n", "platform.yaml:13:5: apps.a.migrate.command", "required"),
    ("    migrate: {command: []}\n", "apps.a.migrate.command", ""),
    ("    migrate: {command: ['']}\n", "apps.a.migrate.command[0]", ""),
    ("    migrate: {command: [x], image: other}\n", "apps.a.migrate.image", ""),
]


@pytest.mark.parametrize("body,where,words", MIGRATE_ERRORS)
def test_migrate_misfits_are_located_errors(tmp_path: Path, body: str, where: str, words: str) -> None:
    err = _error(tmp_path, _app(body))
    assert where in err and words in err, err


# --- the real tools ------------------------------------------------------------------------------------


@pytest.mark.tools
def test_every_field_validates_with_the_real_tools(tmp_path: Path, tools: dict[str, str]) -> None:
    out = _render(tmp_path, EVERYTHING)
    errors = [str(f) for f in api.validate(out).findings if f.severity == "error"]
    assert not errors, "\n".join(errors)


BROKEN = """\
    patches:
      - {target: {kind: HorizontalPodAutoscaler, name: api}, ops: [{op: replace, path: /spec/scaleTargetRef/name, value: nowhere}]}
      - {target: {kind: PodDisruptionBudget, name: api}, ops: [{op: replace, path: /spec/selector/matchLabels, value: {app: nowhere}}]}
      - {target: {kind: Service, name: api}, ops: [{op: replace, path: /spec/ports/1/targetPort, value: nowhere}]}
"""


@pytest.mark.tools
def test_validate_catches_an_autoscaler_budget_or_target_port_pointing_nowhere(tmp_path: Path, tools: dict[str, str]) -> None:
    out = _render(tmp_path, EVERYTHING.replace("    autoscale: {min: 2, max: 6, cpu: 70}\n", "    autoscale: {min: 2, max: 6, cpu: 70}\n" + BROKEN))
    errors = [str(f) for f in api.validate(out).findings if f.severity == "error"]
    assert any("HorizontalPodAutoscaler/apps/api" in e and "Deployment 'nowhere'" in e for e in errors), errors
    assert any("PodDisruptionBudget/apps/api" in e and "matches no pod template" in e for e in errors), errors
    assert any("Service/apps/api" in e and "targets 'nowhere'" in e for e in errors), errors


@pytest.mark.tools
def test_validate_sees_an_autoscaled_deployment_with_replicas_or_without_a_cpu_request(tmp_path: Path, tools: dict[str, str]) -> None:
    patch = """\
    patches:
      - target: {kind: Deployment, name: a}
        ops:
          - {op: add, path: /spec/replicas, value: 3}
          - {op: remove, path: /spec/template/spec/containers/0/resources/requests/cpu}
"""
    out = _render(tmp_path, _app("    resources: {requests: {cpu: 250m}}\n    autoscale: {max: 3}\n" + patch))
    findings = [f for f in api.validate(out).findings if f.check == "hpa-target"]
    assert any(f.severity == "warning" and "sets replicas" in str(f) for f in findings), findings
    assert any(f.severity == "error" and "requests no CPU" in str(f) for f in findings), findings


def test_the_cli_reports_a_misfit_located_and_writes_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text(_app("    port: 9000\n    ports: [{name: web, port: 8000}]\n"), encoding="utf-8")
    out = tmp_path / "out"
    result = bbgen("render", str(spec), "--out", str(out), "-q")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
    assert "platform.yaml:13:11: apps.a.port: give either" in result.stderr, result.stderr
