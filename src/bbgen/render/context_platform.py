"""The template contract of templates/_platform/: the cluster-wide basics of platform/<env>/.

Namespaces, the StorageClass, static volumes and network policies are templates
like everything else; what they read is typed here (frozen objects, one docstring
per field, listed in docs/templates.md) and decided by render/platform.py.
Kubernetes-shaped parts (selectors, policy rules) stay plain mappings for ``| q``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True, slots=True)
class PodSecurity:
    """The Pod Security Admission levels of a Namespace (its `pod-security.kubernetes.io/*` labels)."""

    enforce: str
    """Level the API server enforces: `restricted`, unless a component of the namespace declares (`podSecurity`)
    why its pods need `baseline` or `privileged`; the least strict such level wins."""
    version: str
    """Standards version the enforce level is pinned to (`v1.34`, the environment's Kubernetes minor), so a
    cluster upgrade never starts rejecting pods that were admitted before it; warn and audit follow the latest."""
    warn: str
    """`restricted` everywhere: whoever applies a pod that would fail it is told so."""
    audit: str
    """`restricted` everywhere: the audit log records every pod that would fail it."""
    why: Sequence[str]
    """One `component: reason` line per component that needs more than restricted (empty when none does)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class NamespaceObject:
    """A Namespace of the platform (one per namespace any unit uses)."""

    name: str
    """Namespace name."""
    labels: Mapping[str, str]
    """The standard labels."""
    podSecurity: PodSecurity
    """Its Pod Security Admission levels."""


@dataclass(frozen=True, kw_only=True, slots=True)
class StorageClassObject:
    """The platform's one StorageClass."""

    className: str
    """Its name (`storage.className`)."""
    labels: Mapping[str, str]
    """The standard labels."""
    provisioner: str
    """Its provisioner (`storage.provisioner`)."""
    reclaimPolicy: str
    """`Retain` or `Delete`."""
    allowVolumeExpansion: bool
    """Whether claims may grow (not for static local volumes)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Volume:
    """A static local PersistentVolume on one node."""

    name: str
    """Volume name."""
    labels: Mapping[str, str]
    """The standard labels."""
    size: str
    """Capacity (a Kubernetes quantity)."""
    path: str
    """Directory on the node."""
    node: str
    """The node's `kubernetes.io/hostname`."""


@dataclass(frozen=True, kw_only=True, slots=True)
class NetworkPolicy:
    """A Kubernetes NetworkPolicy (ingress only) derived from the dependency graph."""

    name: str
    """Policy name."""
    namespace: str
    """Its namespace."""
    labels: Mapping[str, str]
    """The standard labels."""
    selector: Mapping[str, str]
    """Labels of the pods it applies to (empty: every pod of the namespace)."""
    ingress: Sequence[Mapping[str, Any]] | None
    """Kubernetes ingress rules it admits; none denies all ingress to the selected pods."""
    expressions: Sequence[Mapping[str, Any]] = ()
    """The selector's `matchExpressions` (`NotIn`: the pods a policy of their own covers port by port)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CiliumNetworkPolicy:
    """A CiliumNetworkPolicy, for what only Cilium can name (the Gateway's `ingress` entity)."""

    name: str
    """Policy name."""
    namespace: str
    """Its namespace."""
    labels: Mapping[str, str]
    """The standard labels."""
    selector: Mapping[str, str]
    """Labels of the endpoints it applies to."""
    rules: Sequence[Mapping[str, Any]]
    """Cilium ingress rules."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PlatformObjectVariables:
    """The variables of the templates/_platform/ templates; each template receives the ones it renders."""

    ns: NamespaceObject | None
    """namespace.yaml.j2: the Namespace."""
    storage: StorageClassObject | None
    """storageclass.yaml.j2 and volume.yaml.j2: the StorageClass."""
    volume: Volume | None
    """volume.yaml.j2: the PersistentVolume."""
    policy: NetworkPolicy | CiliumNetworkPolicy | None
    """networkpolicy.yaml.j2 (NetworkPolicy) and ciliumnetworkpolicy.yaml.j2 (CiliumNetworkPolicy): the policy."""
