"""Building a custom app's part of the template contract: its workload (kind, ports, probes, ...) and container env.

Called by render/context_build.py for every app unit; apart from it because the
workload fields keep growing and each one is worked out here, with every default
applied, so the `_app/` templates only place values.
"""

from __future__ import annotations

from typing import Any

from bbgen.render.context import Dependency, OidcClient, Sso, Workload
from bbgen.kube.objects import INSTANCE_LABEL, NAME_LABEL
from bbgen.render.app_storage import Mounts
from bbgen.render.context_app import Autoscale, Migration
from bbgen.render.units import Unit
from bbgen.spec.app_models import ROUTED_PORT_NAME, ROUTED_SERVICE_PORT
from bbgen.spec.models import CustomApp, EnvSource, Probes


def workload(app: CustomApp, replicas: int, labels: dict[str, str], storage: Mounts) -> Workload:
    """An app's kind, start command and probes: a service is probed over HTTP on `healthPath` unless `probes` says otherwise."""
    probes = app.probes or Probes(type="http" if app.kind == "service" else "none")
    container_ports, service_ports = _ports(app)
    # Probes use the routed (or first) port, by name where the pod names its ports.
    port: str | int = app.routed_port().name if container_ports else app.port
    check: dict[str, Any] | None
    if probes.type == "http":
        check = {"httpGet": {"path": probes.path or app.health_path, "port": port}}
    elif probes.type == "tcp":
        check = {"tcpSocket": {"port": port}}
    elif probes.type == "exec":
        check = {"exec": {"command": list(probes.command)}}
    else:
        check = None
    return Workload(
        kind=app.kind, schedule=app.schedule, command=list(app.command), args=list(app.args),
        readinessProbe={**check, "periodSeconds": 10} if check is not None else None,
        livenessProbe={**check, "initialDelaySeconds": 15, "periodSeconds": 20} if check is not None else None,
        autoscale=Autoscale(min=app.autoscale.min, max=app.autoscale.max, cpu=app.autoscale.cpu) if app.autoscale is not None else None,
        spread=app.kind in ("service", "worker") and (app.autoscale.max if app.autoscale is not None else replicas) > 1,
        migrate=_migration(app, labels),
        containerPorts=container_ports,
        servicePorts=service_ports,
        imagePullSecrets=[{"name": name} for name in app.image_pull_secrets],
        serviceAccount=app.service_account,
        controller=storage.controller,
        files=storage.files,
        volumes=storage.volumes,
        volumeMounts=storage.volumeMounts,
        claimMounts=storage.claimMounts,
        volumeClaimTemplates=storage.volumeClaimTemplates,
        headlessService=storage.headlessService,
    )


def _migration(app: CustomApp, labels: dict[str, str]) -> Migration | None:
    if app.migrate is None:
        return None
    name = f"{labels[NAME_LABEL]}-migrate"
    return Migration(name=name, command=list(app.migrate.command), args=list(app.migrate.args),
                     labels={**labels, NAME_LABEL: name, INSTANCE_LABEL: name})


def _ports(app: CustomApp) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The container's and the Service's port lists: a worker or job without `ports` names none, a job never has a Service."""
    if not app.ports and app.kind != "service":
        return [], []
    ports = app.all_ports()
    container = [{"name": p.name, "containerPort": p.port, "protocol": p.protocol} for p in ports]
    if app.kind != "service":
        return container, []
    routed = app.routed_port()
    service = [{"name": ROUTED_PORT_NAME, "port": ROUTED_SERVICE_PORT, "targetPort": routed.name, "protocol": "TCP"}]
    service += [{"name": p.name, "port": p.port, "targetPort": p.name, "protocol": p.protocol} for p in ports if p.name != routed.name]
    return container, service


def _value_from(source: EnvSource) -> dict[str, Any]:
    """A Kubernetes EnvVarSource: the spec's shape, `optional` written only when true."""
    if source.field_ref is not None:
        return {"fieldRef": {"fieldPath": source.field_ref.field_path}}
    kind, ref = ("configMapKeyRef", source.config_map_key_ref) if source.config_map_key_ref is not None else ("secretKeyRef", source.secret_key_ref)
    assert ref is not None
    return {kind: {"name": ref.name, "key": ref.key, **({"optional": True} if ref.optional else {})}}


def _secret_ref(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def env_list(unit: Unit, deps: dict[str, Dependency], client: OidcClient | None, sso: Sso) -> list[dict[str, Any]]:
    """Container env (Kubernetes EnvVar list): dependency connection settings, the OIDC client, then the app's own."""
    out: dict[str, dict[str, Any]] = {}
    for name in unit.depends_on:
        if name not in deps:
            continue
        dep = deps[name]
        for key in sorted(dep.env):
            out[key] = {"name": key, "value": dep.env[key]}
        for key in sorted(dep.secretEnv):
            out[key] = _secret_ref(key, dep.secretEnv[key].secret, dep.secretEnv[key].key)
    if unit.app is not None and client is not None:
        out["OIDC_CLIENT_ID"] = {"name": "OIDC_CLIENT_ID", "value": client.clientId}
        if sso.issuer:
            out["OIDC_ISSUER_URL"] = {"name": "OIDC_ISSUER_URL", "value": sso.issuer}
        if sso.internalUrl:
            out["OIDC_INTERNAL_URL"] = {"name": "OIDC_INTERNAL_URL", "value": sso.internalUrl}
        if client.secret is not None:
            out["OIDC_CLIENT_SECRET"] = _secret_ref("OIDC_CLIENT_SECRET", client.secret.name, client.secret.key)
    expanded: dict[str, dict[str, Any]] = {}
    if unit.app is not None:
        for var in unit.app.env:
            if var.value_from is not None:
                out[var.name] = {"name": var.name, "valueFrom": _value_from(var.value_from)}
                continue
            assert var.value is not None
            if var.expand:  # its `$(NAME)` references are meant: written as is, after every variable they may name
                out.pop(var.name, None)
                expanded[var.name] = {"name": var.name, "value": var.value}
                continue
            # The kubelet expands `$(NAME)` and turns `$$` into `$` in every value; doubling each `$` keeps the
            # spec's text literal (`$(` is written `$$(`).
            out[var.name] = {"name": var.name, "value": var.value.replace("$", "$$")}
        for ref in unit.app.secret_env:
            out[ref.name] = _secret_ref(ref.name, ref.secret, ref.key)
    return [out[k] for k in sorted(out)] + [expanded[k] for k in sorted(expanded)]
