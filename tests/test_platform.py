"""platform/<env>/: NetworkPolicies derived from the dependency graph, static local volumes, and the spec
checks that keep routing and storage choices consistent."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from bbgen.errors import SpecError
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform

from support import MINIMAL_SPEC

NGINX = {"app.kubernetes.io/instance": "ingress-nginx"}  # the chart's pods, by release

WithApp = MINIMAL_SPEC + """\
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  postgres: {}
  redis: {}
  qdrant: {}
apps:
  api:
    image: registry.example.org/api:1.0.0
    namespace: hadith
    port: 8000
    host: api
    dependsOn: [postgres, qdrant]
ingress:
  tcp: [{port: 5432, component: postgres}]
"""


def _platform_objects(spec: Path, env: str = "prod") -> dict[tuple[str, str | None, str], dict[str, Any]]:
    tree = build_tree(load_platform(spec))
    out = {}
    for path, data in tree.files.items():
        if path.startswith(f"platform/{env}/") and not path.endswith("kustomization.yaml"):
            doc = yaml.safe_load(data)
            out[(doc["kind"], doc["metadata"].get("namespace"), doc["metadata"]["name"])] = doc
    return out


def _peers(policy: dict[str, Any]) -> list[tuple[str | None, dict[str, str] | None, list[int]]]:
    """(namespace, pod labels, ports) for every `from` peer of a NetworkPolicy."""
    out = []
    for rule in policy["spec"].get("ingress", []):
        ports = sorted(p["port"] for p in rule.get("ports", []))
        for peer in rule.get("from", [{}]):
            ns = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
            pods = peer.get("podSelector", {}).get("matchLabels")
            out.append((ns, pods, ports))
    return out


def test_every_namespace_is_isolated(write_spec: Callable[[str], Path]) -> None:
    objects = _platform_objects(write_spec(WithApp))
    namespaces = {name for kind, _, name in objects if kind == "Namespace"}
    assert namespaces == {"cert-manager", "db", "vec", "hadith", "ingress-nginx"}
    for ns in namespaces:
        deny = objects[("NetworkPolicy", ns, "default-deny-ingress")]
        assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
        same = objects[("NetworkPolicy", ns, "allow-same-namespace")]
        assert same["spec"]["ingress"] == [{"from": [{"podSelector": {}}]}]


def test_dependency_flows_are_allowed_and_nothing_else(write_spec: Callable[[str], Path]) -> None:
    objects = _platform_objects(write_spec(WithApp))
    api_pods = {"app.kubernetes.io/instance": "api", "app.kubernetes.io/name": "api"}
    postgres = objects[("NetworkPolicy", "db", "allow-postgres")]
    assert postgres["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/instance": "postgres", "app.kubernetes.io/name": "postgres"}
    assert ("hadith", api_pods, [5432]) in _peers(postgres)
    # The TCP exposure: the NGINX controller reaches 5432 too.
    assert ("ingress-nginx", NGINX, [5432]) in _peers(postgres)
    qdrant = objects[("NetworkPolicy", "vec", "allow-qdrant")]
    assert _peers(qdrant) == [("hadith", api_pods, [6333, 6334]), ("ingress-nginx", NGINX, [6333])]  # its host: http only
    # redis has no dependant outside its namespace and no host: no allowance at all.
    assert ("NetworkPolicy", "db", "allow-redis") not in objects
    # the app's public host: the controller reaches its container port, not the Service port.
    assert _peers(objects[("NetworkPolicy", "hadith", "allow-api")]) == [("ingress-nginx", NGINX, [8000])]
    # ...and the controller itself takes the exposed TCP port from anywhere, beside its HTTP(S) ports.
    controller = objects[("NetworkPolicy", "ingress-nginx", "allow-ingress-nginx")]
    open_ports = [sorted(p["port"] for p in r["ports"]) for r in controller["spec"]["ingress"] if "from" not in r]
    assert [5432] in open_ports


def test_catalog_network_allowances_and_acme_solver(write_spec: Callable[[str], Path]) -> None:
    objects = _platform_objects(write_spec(WithApp))
    webhook = objects[("NetworkPolicy", "cert-manager", "allow-cert-manager")]
    assert webhook["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/instance": "cert-manager"}
    assert webhook["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": 10250}]}]
    solver = objects[("NetworkPolicy", "hadith", "allow-acme-http01-solver")]
    assert solver["spec"]["podSelector"]["matchLabels"] == {"acme.cert-manager.io/http01-solver": "true"}
    assert _peers(solver) == [("ingress-nginx", NGINX, [8089])]
    # No public host in db, but PostgreSQL's TCP exposure has TLS: its certificate's solver runs there.
    assert _peers(objects[("NetworkPolicy", "db", "allow-acme-http01-solver")]) == [("ingress-nginx", NGINX, [8089])]


def test_new_dependency_opens_exactly_its_path(write_spec: Callable[[str], Path]) -> None:
    before = _platform_objects(write_spec(WithApp))
    after = _platform_objects(write_spec(WithApp.replace("dependsOn: [postgres, qdrant]", "dependsOn: [postgres, qdrant, redis]")))
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert changed == {("NetworkPolicy", "db", "allow-redis")}
    assert _peers(after[("NetworkPolicy", "db", "allow-redis")]) == [
        ("hadith", {"app.kubernetes.io/instance": "api", "app.kubernetes.io/name": "api"}, [6379])
    ]


STATIC = MINIMAL_SPEC + """\
storage:
  provisioner: kubernetes.io/no-provisioner
  volumes:
    - {name: ssd-node1-a, node: node1, path: /mnt/ssd/a, size: 100Gi}
    - {name: ssd-node2-a, node: node2.example.org, path: /mnt/ssd/a, size: 200Gi}
components:
  postgres: {}
"""


def test_static_volumes_are_pinned_to_their_nodes(write_spec: Callable[[str], Path]) -> None:
    objects = _platform_objects(write_spec(STATIC))
    pv = objects[("PersistentVolume", None, "ssd-node2-a")]
    assert pv["spec"]["local"] == {"path": "/mnt/ssd/a"}
    assert pv["spec"]["capacity"] == {"storage": "200Gi"}
    assert pv["spec"]["storageClassName"] == "local-ssd"
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    terms = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["node2.example.org"]}]}]
    sc = objects[("StorageClass", None, "local-ssd")]
    assert sc["provisioner"] == "kubernetes.io/no-provisioner" and sc["volumeBindingMode"] == "WaitForFirstConsumer"


def _errors(path: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_platform(path)
    return [str(i) for i in caught.value.issues]


def test_static_volumes_need_the_no_provisioner_class(write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(STATIC.replace("provisioner: kubernetes.io/no-provisioner", "provisioner: rancher.io/local-path"))
    (error,) = _errors(spec)
    assert error.startswith(f"{spec}:8:5: storage.volumes: static volumes need storage.provisioner: kubernetes.io/no-provisioner")


def test_duplicate_static_volume_is_located(write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(STATIC.replace("name: ssd-node2-a", "name: ssd-node1-a"))
    (error,) = _errors(spec)
    assert "storage.volumes[1].name" in error and "already declared at storage.volumes[0]" in error


def test_gateway_provider_needs_the_gateway_and_accepts_basic_auth(write_spec: Callable[[str], Path]) -> None:
    spec = write_spec(MINIMAL_SPEC + """\
ingress: {provider: gateway, className: cilium}
components:
  qdrant:
    basicAuth: {enabled: true}
""")
    errors = _errors(spec)
    assert any(":5:21: ingress.provider: Gateway API routing needs the `gateway` component" in e for e in errors), errors
    assert not any("basicAuth" in e for e in errors), errors  # the auth proxy serves it (render/basic_auth.py)


def test_nginx_policies_apply_on_a_real_build(write_spec: Callable[[str], Path], tools: dict[str, str], tmp_path: Path) -> None:
    """The generated policies and volumes are valid objects: kubeconform strict over the platform build."""
    from bbgen import api

    for text in (WithApp, STATIC):
        out = tmp_path / f"out-{len(text)}"
        write_tree(build_tree(load_platform(write_spec(text))), out)
        report = api.validate(out)
        assert [str(f) for f in report.findings if f.severity == "error"] == []


def test_gateway_edge_policies(write_spec: Callable[[str], Path]) -> None:
    """Cilium's Envoy carries HTTP routes (the `ingress` entity); TCPRoutes arrive from outside through the datapath."""
    spec = write_spec(MINIMAL_SPEC + """\
ingress:
  provider: gateway
  className: cilium
  tcp: [{port: 5432, component: postgres}]
components:
  cert-manager: {}
  cluster-issuers: {}
  gateway-api: {}
  gateway: {}
  postgres: {}
  qdrant: {}
""")
    objects = _platform_objects(spec)
    assert not any(kind == "NetworkPolicy" and name.startswith("allow-acme") and ns != "gateway" for kind, ns, name in objects)
    qdrant = objects[("CiliumNetworkPolicy", "vec", "allow-qdrant-from-gateway")]["spec"]
    assert qdrant["ingress"] == [{"fromEntities": ["ingress"], "toPorts": [{"ports": [{"port": "6333", "protocol": "TCP"}]}]}]
    postgres = objects[("CiliumNetworkPolicy", "db", "allow-postgres-from-gateway")]["spec"]
    assert postgres["ingress"] == [{"fromEntities": ["world", "remote-node", "host"], "toPorts": [{"ports": [{"port": "5432", "protocol": "TCP"}]}]}]
    solver = objects[("CiliumNetworkPolicy", "gateway", "allow-acme-http01-solver")]["spec"]
    assert solver["endpointSelector"]["matchLabels"] == {"acme.cert-manager.io/http01-solver": "true"}


def test_argo_cd_never_deletes_namespaces_volumes_or_itself(write_spec: Callable[[str], Path]) -> None:
    objects = _platform_objects(write_spec(STATIC))
    for kind in ("Namespace", "PersistentVolume"):
        docs = [d for (k, _, _), d in objects.items() if k == kind]
        assert docs and all(d["metadata"]["annotations"] == {"argocd.argoproj.io/sync-options": "Delete=false"} for d in docs)
    tree = build_tree(load_platform(write_spec(MINIMAL_SPEC + "components:\n  argocd: {}\n  postgres: {}\n")))
    assert "finalizers" not in yaml.safe_load(tree.files["apps/prod/argocd.yaml"])["metadata"]
    assert yaml.safe_load(tree.files["apps/prod/postgres.yaml"])["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io/foreground"]
