"""A small hand-written tree in the renderer's layout, and helpers to break it one way at a time.

Each test starts from ``baseline()`` (a mapping of relative path → YAML
content), changes one thing, writes it to ``tmp_path`` and validates it with
the real kustomize and kubeconform binaries.

These helpers live in ``treekit`` rather than ``conftest``: several test
directories have a conftest.py, and ``from conftest import`` picks whichever
one was imported first.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen.validate import Report
from bbgen.validate.tools import tools_available

REPO = "https://git.example.org/acme/platform.git"
SERVER = "https://kubernetes.default.svc"
CHARTS = "https://charts.jetstack.io"

Files = dict[str, Any]
AUTH = "bbgen.dev/auth"  # every public route carries its authentication decision (web: its own login)

needs_tools = [
    pytest.mark.tools,
    pytest.mark.skipif(not tools_available(), reason="kustomize/kubeconform not installed (run `bbgen tools install`)"),
]


def kustomization(*resources: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": list(resources), **extra}


def meta(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace:
        out["namespace"] = namespace
    out.update(extra)
    return out


def project_of(env: str, project: str) -> str:
    """prod's Applications use projects/ as named; another environment's use its own copies, `<env>-<name>` in projects/<env>/."""
    return project if env == "prod" or project == "default" else f"{env}-{project}"


def application(env: str, name: str, project: str, namespace: str | None, path: str | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "project": project_of(env, project),
        "destination": {"server": SERVER, **({"namespace": namespace} if namespace else {})},
        "syncPolicy": {
            "automated": {"prune": True, "selfHeal": True},
            "syncOptions": ["PruneLast=true"],
            "retry": {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"}},
        },
    }
    if path is not None:
        body["source"] = {"repoURL": REPO, "targetRevision": "main", "path": path}
    body.update(spec)
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta(f"{env}-{name}", "argocd"), "spec": body}


def project(name: str, namespaces: list[str], *, cluster: Sequence[tuple[str, str]] = (), repos: tuple[str, ...] = (REPO,), **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": meta(name, "argocd"),
        "spec": {
            "description": f"{name} project",
            "sourceRepos": list(repos),
            "destinations": [{"server": SERVER, "namespace": ns} for ns in namespaces],
            "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in cluster],
            **spec,
        },
    }


def web_component() -> Files:
    labels = {"app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "web"}
    return {
        "components/web/base/kustomization.yaml": kustomization(
            "configmap-web.yaml", "deployment-web.yaml", "service-web.yaml", "ingress-web.yaml"
        ),
        "components/web/base/configmap-web.yaml": {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("web", "web"), "data": {"MODE": "prod"},
        },
        "components/web/base/deployment-web.yaml": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta("web", "web", labels=labels),
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "image": "registry.example.org/web:1.0.0",
                                "ports": [{"name": "http", "containerPort": 8080}],
                                "envFrom": [{"configMapRef": {"name": "web"}}],
                                "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "web-db", "key": "password"}}}],
                            }
                        ]
                    },
                },
            },
        },
        "components/web/base/service-web.yaml": {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("web", "web", labels=labels),
            "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
        },
        "components/web/base/ingress-web.yaml": {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": meta("web", "web", annotations={"cert-manager.io/cluster-issuer": "letsencrypt-prod", AUTH: "builtin"}),
            "spec": {
                "ingressClassName": "nginx",
                "tls": [{"hosts": ["web.example.org"], "secretName": "web-tls"}],
                "rules": [
                    {
                        "host": "web.example.org",
                        "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"name": "http"}}}}]},
                    }
                ],
            },
        },
    }


def baseline(envs: tuple[str, ...] = ("prod",)) -> Files:
    """A clean tree: platform namespaces, a web app with Ingress, ClusterIssuers, a Helm chart app."""
    files: Files = {
        ".bbgen/manifest.json": json.dumps({"kubernetesVersion": "1.34.0", "environments": list(envs), "files": {}}),
        "README.md": "# test tree\n",
        "projects/kustomization.yaml": kustomization("appproject-platform.yaml", "appproject-apps.yaml", "appproject-infra.yaml"),
        "projects/appproject-platform.yaml": project(
            "platform", ["*"], cluster=[("", "Namespace"), ("storage.k8s.io", "StorageClass")],
            namespaceResourceBlacklist=[{"group": "*", "kind": "*"}],
        ),
        "projects/appproject-apps.yaml": project("apps", ["web"]),
        "projects/appproject-infra.yaml": project(
            "infra", ["cert-manager"], cluster=[("cert-manager.io", "ClusterIssuer")], repos=(REPO, CHARTS)
        ),
        "components/issuers/base/kustomization.yaml": kustomization("clusterissuer-letsencrypt-prod.yaml"),
        "components/issuers/base/clusterissuer-letsencrypt-prod.yaml": {
            "apiVersion": "cert-manager.io/v1",
            "kind": "ClusterIssuer",
            "metadata": meta("letsencrypt-prod"),
            "spec": {
                "acme": {
                    "server": "https://acme-v02.api.letsencrypt.org/directory",
                    "email": "ops@example.org",
                    "privateKeySecretRef": {"name": "letsencrypt-prod"},
                    "solvers": [{"http01": {"ingress": {"ingressClassName": "nginx"}}}],
                }
            },
        },
        **web_component(),
    }
    shared = [(rel, doc) for rel, doc in files.items() if rel.startswith("projects/appproject-")]
    for env in envs:
        projects = "../../projects"
        if env != "prod":  # each environment owns its AppProjects (one owner per Argo CD object); the spec is prod's, shared
            projects = f"../../projects/{env}"
            copies = {
                f"projects/{env}/appproject-{env}-{rel.removeprefix('projects/appproject-')}": {
                    **doc, "metadata": {**doc["metadata"], "name": project_of(env, doc["metadata"]["name"])},
                }
                for rel, doc in shared
            }
            files.update(copies)
            files[f"projects/{env}/kustomization.yaml"] = kustomization(*sorted(rel.rpartition("/")[2] for rel in copies))
        files.update(
            {
                f"bootstrap/{env}/root-app.yaml": application(env, "root", "default", "argocd", f"apps/{env}"),
                f"apps/{env}/kustomization.yaml": kustomization(
                    projects, "platform.yaml", "web.yaml", "issuers.yaml", "cert-manager.yaml"
                ),
                f"apps/{env}/platform.yaml": application(env, "platform", "platform", None, f"platform/{env}"),
                f"apps/{env}/web.yaml": application(env, "web", "apps", "web", f"components/web/overlays/{env}"),
                f"apps/{env}/issuers.yaml": application(env, "issuers", "infra", "cert-manager", f"components/issuers/overlays/{env}"),
                f"apps/{env}/cert-manager.yaml": application(
                    env, "cert-manager", "infra", "cert-manager",
                    sources=[
                        {
                            "repoURL": CHARTS, "chart": "cert-manager", "targetRevision": "v1.19.1",
                            "helm": {"releaseName": "cert-manager", "valueFiles": [f"$values/values/cert-manager/{env}.yaml"]},
                        },
                        {"repoURL": REPO, "targetRevision": "main", "ref": "values"},
                    ],
                ),
                f"platform/{env}/kustomization.yaml": kustomization(
                    "namespace-web.yaml", "namespace-cert-manager.yaml", "storageclass-local-ssd.yaml"
                ),
                f"platform/{env}/namespace-web.yaml": {"apiVersion": "v1", "kind": "Namespace", "metadata": meta("web")},
                f"platform/{env}/namespace-cert-manager.yaml": {"apiVersion": "v1", "kind": "Namespace", "metadata": meta("cert-manager")},
                f"platform/{env}/storageclass-local-ssd.yaml": {
                    "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta("local-ssd"),
                    "provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer",
                },
                f"components/web/overlays/{env}/kustomization.yaml": kustomization(
                    "../../base", labels=[{"pairs": {"bbgen.dev/environment": env}, "includeSelectors": False}]
                ),
                f"components/issuers/overlays/{env}/kustomization.yaml": kustomization("../../base"),
                f"values/cert-manager/{env}.yaml": {"crds": {"enabled": True}},
            }
        )
    return copy.deepcopy(files)


def write_tree(root: Path, files: Files) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        elif isinstance(content, list):
            path.write_text(yaml.safe_dump_all(content, sort_keys=False), encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return root


def errors(report: Report, check: str | None = None) -> list[str]:
    return [str(f) for f in report.findings if f.severity == "error" and (check is None or f.check == check)]


GATEWAY_API = "gateway.networking.k8s.io"
NGINX_CHARTS = "https://kubernetes.github.io/ingress-nginx"


def _add_namespace(files: Files, env: str, name: str) -> None:
    files[f"platform/{env}/kustomization.yaml"]["resources"].append(f"namespace-{name}.yaml")
    files[f"platform/{env}/namespace-{name}.yaml"] = {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(name)}


def _add_app(files: Files, env: str, app: dict[str, Any]) -> None:
    name = app["metadata"]["name"].removeprefix(f"{env}-")
    files[f"apps/{env}/kustomization.yaml"]["resources"].append(f"{name}.yaml")
    files[f"apps/{env}/{name}.yaml"] = app


def with_gateway(files: Files, envs: tuple[str, ...] = ("prod",)) -> Files:
    """The Gateway API flavour: a public Gateway (HTTP, HTTPS for web, TCP 5432) plus web's HTTPRoute and TCPRoute."""
    files["projects/appproject-infra.yaml"]["spec"]["destinations"].append({"server": SERVER, "namespace": "gateway"})
    files["components/gateway/base/kustomization.yaml"] = kustomization("gateway-public.yaml")
    files["components/gateway/base/gateway-public.yaml"] = {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "Gateway",
        "metadata": meta("public", "gateway", annotations={"cert-manager.io/cluster-issuer": "letsencrypt-prod"}),
        "spec": {
            "gatewayClassName": "cilium",
            "listeners": [
                {"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "All"}}},
                {
                    "name": "https-web",
                    "protocol": "HTTPS",
                    "port": 443,
                    "hostname": "web.example.org",
                    "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "web-tls"}]},
                    "allowedRoutes": {"namespaces": {"from": "All"}},
                },
                {
                    "name": "tcp-web",
                    "protocol": "TCP",
                    "port": 5432,
                    "allowedRoutes": {
                        "namespaces": {"from": "Selector", "selector": {"matchLabels": {"kubernetes.io/metadata.name": "web"}}},
                        "kinds": [{"kind": "TCPRoute"}],
                    },
                },
            ],
        },
    }
    web = "components/web/base"
    files[f"{web}/kustomization.yaml"]["resources"] += ["httproute-web.yaml", "tcproute-web.yaml"]
    files[f"{web}/httproute-web.yaml"] = {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "HTTPRoute",
        "metadata": meta("web", "web", annotations={AUTH: "builtin"}),
        "spec": {
            "parentRefs": [{"group": GATEWAY_API, "kind": "Gateway", "name": "public", "namespace": "gateway", "sectionName": "https-web"}],
            "hostnames": ["web.example.org"],
            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": [{"name": "web", "port": 80}]}],
        },
    }
    files[f"{web}/tcproute-web.yaml"] = {
        "apiVersion": f"{GATEWAY_API}/v1",
        "kind": "TCPRoute",
        "metadata": meta("web", "web"),
        "spec": {
            "parentRefs": [{"name": "public", "namespace": "gateway", "sectionName": "tcp-web"}],
            "rules": [{"backendRefs": [{"name": "web", "port": 80}]}],
        },
    }
    for env in envs:
        _add_namespace(files, env, "gateway")
        files[f"components/gateway/overlays/{env}/kustomization.yaml"] = kustomization("../../base")
        _add_app(files, env, application(env, "gateway", "infra", "gateway", f"components/gateway/overlays/{env}"))
    return files


def with_ingress_nginx(files: Files, tcp: dict[str, str], envs: tuple[str, ...] = ("prod",)) -> Files:
    """The ingress-nginx chart deployed by Argo CD, with a `tcp:` map in its tree values file."""
    spec = files["projects/appproject-infra.yaml"]["spec"]
    spec["destinations"].append({"server": SERVER, "namespace": "ingress-nginx"})
    spec["sourceRepos"].append(NGINX_CHARTS)
    for env in envs:
        _add_namespace(files, env, "ingress-nginx")
        app = application(
            env, "ingress-nginx", "infra", "ingress-nginx",
            sources=[
                {
                    "repoURL": NGINX_CHARTS, "chart": "ingress-nginx", "targetRevision": "4.15.1",
                    "helm": {"releaseName": "ingress-nginx", "valueFiles": [f"$values/values/ingress-nginx/{env}.yaml"]},
                },
                {"repoURL": REPO, "targetRevision": "main", "ref": "values"},
            ],
        )
        _add_app(files, env, app)
        files[f"values/ingress-nginx/{env}.yaml"] = {"controller": {"replicaCount": 2}, "tcp": dict(tcp)}
    return files
