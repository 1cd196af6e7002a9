"""The Kubernetes Pod Security Standards, as rules over a pod spec.

Pod Security Admission rejects a pod at admission time, long after Argo CD has
synced; checking the rendered pod templates against the level their Namespace
enforces turns that late, per-pod surprise into a render-time finding. The rules
follow the published Baseline and Restricted profiles (current version, Linux
pods): each returns what a person must change, naming the container or volume.

Windows pods are out of scope (the platform runs Linux nodes only), so the
profile's Windows exemptions are not modelled: every pod is checked as Linux.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

from bbgen.kube.objects import containers

Level = Literal["privileged", "baseline", "restricted"]
LEVELS: tuple[Level, ...] = ("privileged", "baseline", "restricted")
"""From least to most strict: a namespace shared by components enforces the least strict one they declare."""
ENFORCE = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"
WARN = "pod-security.kubernetes.io/warn"
AUDIT = "pod-security.kubernetes.io/audit"

BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
})
SECCOMP_OK = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
HANDLERS = ("livenessProbe", "readinessProbe", "startupProbe")

Container = tuple[str, dict[str, Any]]
"""(name, container) of every container of a pod, init and ephemeral ones included."""


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _named(spec: dict[str, Any]) -> list[Container]:
    return [(str(c.get("name", f"{key}[{i}]")), c) for key, i, c in containers(spec)]


def _sc(container: dict[str, Any]) -> dict[str, Any]:
    return _map(container.get("securityContext"))


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _containers_must(names: list[str], what: str) -> list[str]:
    return [f"container{'s' if len(names) > 1 else ''} {_quoted(names)} must {what}"] if names else []


# --- baseline -------------------------------------------------------------------------------------

def _host_namespaces(spec: dict[str, Any], _: dict[str, str], __: list[Container]) -> list[str]:
    on = [f"{key}=true" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key) is True]
    return [f"host namespaces: the pod must not set {', '.join(on)}"] if on else []


def _privileged(_: dict[str, Any], __: dict[str, str], cs: list[Container]) -> list[str]:
    return _containers_must([n for n, c in cs if _sc(c).get("privileged") is True], "not set securityContext.privileged=true")


def _host_process(spec: dict[str, Any], _: dict[str, str], cs: list[Container]) -> list[str]:
    pod = _map(_map(spec.get("securityContext")).get("windowsOptions")).get("hostProcess") is True
    bad = [n for n, c in cs if _map(_sc(c).get("windowsOptions")).get("hostProcess") is True]
    out = ["hostProcess: the pod must not set securityContext.windowsOptions.hostProcess=true"] if pod else []
    return out + _containers_must(bad, "not set securityContext.windowsOptions.hostProcess=true")


def _capabilities_baseline(_: dict[str, Any], __: dict[str, str], cs: list[Container]) -> list[str]:
    out = []
    for name, c in cs:
        extra = sorted(str(a) for a in _list(_map(_sc(c).get("capabilities")).get("add")) if str(a) not in BASELINE_CAPABILITIES)
        if extra:
            out.append(f'container "{name}" must not add capabilities {", ".join(extra)}')
    return out


def _host_path(spec: dict[str, Any], _: dict[str, str], __: list[Container]) -> list[str]:
    bad = [str(v.get("name")) for v in _list(spec.get("volumes")) if isinstance(v, dict) and "hostPath" in v]
    return [f"hostPath volumes {_quoted(bad)} are not allowed"] if bad else []


def _host_ports(_: dict[str, Any], __: dict[str, str], cs: list[Container]) -> list[str]:
    out = []
    for name, c in cs:
        ports = sorted(int(p["hostPort"]) for p in _list(c.get("ports")) if isinstance(p, dict) and isinstance(p.get("hostPort"), int) and p["hostPort"] != 0)
        if ports:
            out.append(f'container "{name}" must not use hostPort {", ".join(str(p) for p in ports)}')
    return out


def _handlers(c: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for key in HANDLERS:
        yield key, _map(c.get(key))
    lifecycle = _map(c.get("lifecycle"))
    for key in ("postStart", "preStop"):
        yield f"lifecycle.{key}", _map(lifecycle.get(key))


def _host_probes(_: dict[str, Any], __: dict[str, str], cs: list[Container]) -> list[str]:
    """Probes and hooks may not aim at another host: the kubelet would connect wherever the pod author said."""
    out = []
    for name, c in cs:
        for where, handler in _handlers(c):
            for kind in ("httpGet", "tcpSocket"):
                if _map(handler.get(kind)).get("host"):
                    out.append(f'container "{name}" must not set {where}.{kind}.host')
    return out


def _apparmor(spec: dict[str, Any], annotations: dict[str, str], cs: list[Container]) -> list[str]:
    out = []
    for key, value in sorted(annotations.items()):
        if key.startswith(APPARMOR_ANNOTATION) and value != "runtime/default" and not value.startswith("localhost/"):
            out.append(f"annotation {key}={value} is not allowed (runtime/default or localhost/*)")
    profiles = [("the pod", _map(spec.get("securityContext")))] + [(f'container "{n}"', _sc(c)) for n, c in cs]
    for who, sc in profiles:
        kind = _map(sc.get("appArmorProfile")).get("type")
        if kind is not None and kind not in SECCOMP_OK:
            out.append(f"{who} must not set securityContext.appArmorProfile.type={kind}")
    return out


def _selinux(spec: dict[str, Any], _: dict[str, str], cs: list[Container]) -> list[str]:
    out = []
    for who, sc in [("the pod", _map(spec.get("securityContext")))] + [(f'container "{n}"', _sc(c)) for n, c in cs]:
        opts = _map(sc.get("seLinuxOptions"))
        if str(opts.get("type") or "") not in SELINUX_TYPES:
            out.append(f"{who} must not set seLinuxOptions.type={opts.get('type')}")
        if opts.get("user") or opts.get("role"):
            out.append(f"{who} must not set seLinuxOptions.user or .role")
    return out


def _proc_mount(_: dict[str, Any], __: dict[str, str], cs: list[Container]) -> list[str]:
    return _containers_must([n for n, c in cs if _sc(c).get("procMount") not in (None, "Default")], "not set securityContext.procMount other than Default")


def _seccomp_baseline(spec: dict[str, Any], _: dict[str, str], cs: list[Container]) -> list[str]:
    pod = _map(_map(spec.get("securityContext")).get("seccompProfile")).get("type") == "Unconfined"
    out = ["the pod must not set securityContext.seccompProfile.type=Unconfined"] if pod else []
    return out + _containers_must([n for n, c in cs if _map(_sc(c).get("seccompProfile")).get("type") == "Unconfined"], "not set securityContext.seccompProfile.type=Unconfined")


def _sysctls(spec: dict[str, Any], _: dict[str, str], __: list[Container]) -> list[str]:
    names = [str(s.get("name")) for s in _list(_map(spec.get("securityContext")).get("sysctls")) if isinstance(s, dict)]
    bad = sorted(n for n in names if n not in SAFE_SYSCTLS)
    return [f"sysctls {', '.join(bad)} are not in the safe set"] if bad else []


# --- restricted -----------------------------------------------------------------------------------

def _volumes(spec: dict[str, Any], _: dict[str, str], __: list[Container]) -> list[str]:
    out = []
    for v in _list(spec.get("volumes")):
        if isinstance(v, dict):
            sources = sorted(k for k in v if k != "name")
            if not sources or any(k not in RESTRICTED_VOLUMES for k in sources):
                out.append(f'volume "{v.get("name")}" uses {", ".join(sources) or "no source"}; restricted allows {", ".join(sorted(RESTRICTED_VOLUMES))}')
    return out


def _escalation(_: dict[str, Any], __: dict[str, str], cs: list[Container]) -> list[str]:
    return _containers_must([n for n, c in cs if _sc(c).get("allowPrivilegeEscalation") is not False], "set securityContext.allowPrivilegeEscalation=false")


def _non_root(spec: dict[str, Any], _: dict[str, str], cs: list[Container]) -> list[str]:
    pod = _map(spec.get("securityContext")).get("runAsNonRoot")
    out = ["the pod must not set securityContext.runAsNonRoot=false"] if pod is False else []
    explicit = [n for n, c in cs if _sc(c).get("runAsNonRoot") is False]
    out += _containers_must(explicit, "not set securityContext.runAsNonRoot=false")
    if pod is not True:
        out += _containers_must([n for n, c in cs if _sc(c).get("runAsNonRoot") is not True and n not in explicit],
                                "set securityContext.runAsNonRoot=true (or the pod must)")
    return out


def _run_as_user(spec: dict[str, Any], _: dict[str, str], cs: list[Container]) -> list[str]:
    out = ["the pod must not set securityContext.runAsUser=0"] if _map(spec.get("securityContext")).get("runAsUser") == 0 else []
    return out + _containers_must([n for n, c in cs if _sc(c).get("runAsUser") == 0], "not set securityContext.runAsUser=0")


def _seccomp_restricted(spec: dict[str, Any], _: dict[str, str], cs: list[Container]) -> list[str]:
    pod = _map(_map(spec.get("securityContext")).get("seccompProfile")).get("type")
    out = [f"the pod must not set securityContext.seccompProfile.type={pod}"] if pod is not None and pod not in SECCOMP_OK else []
    for name, c in cs:
        kind = _map(_sc(c).get("seccompProfile")).get("type")
        if kind is not None and kind not in SECCOMP_OK:
            out.append(f'container "{name}" must not set securityContext.seccompProfile.type={kind}')
    if pod not in SECCOMP_OK:
        unset = [n for n, c in cs if _map(_sc(c).get("seccompProfile")).get("type") is None]
        out += _containers_must(unset, "set securityContext.seccompProfile.type to RuntimeDefault or Localhost (or the pod must)")
    return out


def _capabilities_restricted(_: dict[str, Any], __: dict[str, str], cs: list[Container]) -> list[str]:
    out = []
    for name, c in cs:
        caps = _map(_sc(c).get("capabilities"))
        if "ALL" not in [str(d) for d in _list(caps.get("drop"))]:
            out.append(f'container "{name}" must set securityContext.capabilities.drop=["ALL"]')
        extra = sorted(str(a) for a in _list(caps.get("add")) if str(a) not in RESTRICTED_CAPABILITIES)
        if extra:
            out.append(f'container "{name}" must not add capabilities {", ".join(extra)} (only NET_BIND_SERVICE)')
    return out


Rule = Callable[[dict[str, Any], dict[str, str], list[Container]], list[str]]
BASELINE_RULES: tuple[Rule, ...] = (
    _host_process, _host_namespaces, _privileged, _capabilities_baseline, _host_path, _host_ports,
    _host_probes, _apparmor, _selinux, _proc_mount, _seccomp_baseline, _sysctls,
)
RESTRICTED_RULES: tuple[Rule, ...] = (
    _volumes, _escalation, _non_root, _run_as_user, _seccomp_restricted, _capabilities_restricted,
)

RESTRICTED: tuple[Rule, ...] = tuple(
    r for r in BASELINE_RULES if r not in (_host_path, _seccomp_baseline, _capabilities_baseline)  # restricted's stricter forms replace these
) + RESTRICTED_RULES


def violations(spec: dict[str, Any], level: Level, annotations: dict[str, str] | None = None) -> list[str]:
    """What keeps a pod (its spec and its annotations) from being admitted at ``level``; empty: it is admitted."""
    if level == "privileged":
        return []
    cs = _named(spec)
    rules = BASELINE_RULES if level == "baseline" else RESTRICTED
    return [problem for rule in rules for problem in rule(spec, annotations or {}, cs)]


def least_strict(levels: list[Level]) -> Level:
    """The level a namespace shared by several components enforces: the weakest any of them needs (restricted if none)."""
    return min(levels, key=LEVELS.index, default="restricted")


def as_level(text: str) -> Level | None:
    """The level a label value names, or None for anything else (a typo the API server would also refuse)."""
    return next((level for level in LEVELS if level == text), None)
