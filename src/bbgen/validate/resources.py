"""Parsed Kubernetes objects with enough context to locate a finding.

A built kustomization is one YAML stream; it is split on document markers so
each object can be handed to kubeconform as its own file and every result maps
back to exactly one object (kubeconform's JSON output carries no namespace).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bbgen.kube import yamlio

_DOC_MARKER = re.compile(r"^---[ \t]*(?:#.*)?$", re.MULTILINE)

# Cluster-scoped kinds by (group, kind). Everything else is treated as
# namespaced, which is the right default for custom resources; CRDs rendered in
# the tree can add to this through their spec.scope.
CLUSTER_SCOPED: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("node.k8s.io", "RuntimeClass"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("resource.k8s.io", "DeviceClass"),
        ("cert-manager.io", "ClusterIssuer"),
        ("gateway.networking.k8s.io", "GatewayClass"),
        ("snapshot.storage.k8s.io", "VolumeSnapshotClass"),
        ("snapshot.storage.k8s.io", "VolumeSnapshotContent"),
    }
)

@dataclass(frozen=True, kw_only=True)
class Chunk:
    """One YAML document of a stream: its raw text (for kubeconform) and parsed value."""

    text: str
    value: Any


class YamlProblem(Exception):
    """A document that does not parse; carries a message fit for a finding."""


def split_documents(text: str) -> list[Chunk]:
    """Split on `---` lines and parse each part alone; empty documents are dropped."""
    chunks: list[Chunk] = []
    for part in _DOC_MARKER.split(text):
        if not part.strip():
            continue
        try:
            value = yamlio.load(part)
        except yamlio.YAMLError as exc:
            raise YamlProblem(" ".join(str(exc).split())) from None
        if value is None:
            continue
        chunks.append(Chunk(text=part if part.endswith("\n") else part + "\n", value=value))
    return chunks


def is_object(value: Any) -> bool:
    """Does this parsed document look like a Kubernetes object (not Helm values, not a list)?"""
    return isinstance(value, dict) and isinstance(value.get("apiVersion"), str) and isinstance(value.get("kind"), str)


def group_of(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


@dataclass(frozen=True, kw_only=True)
class Resource:
    """An object plus where it came from.

    ``origin`` is the build directory (or plain file) whose output held it,
    ``source`` the most specific file known to define it (``origin`` when the
    defining file cannot be pinned down), ``env`` the environment it belongs to
    (None: shared by every environment).
    """

    doc: dict[str, Any]
    origin: str
    source: str
    env: str | None
    namespaced: bool
    default_namespace: str | None = None

    @property
    def api_version(self) -> str:
        return str(self.doc.get("apiVersion", ""))

    @property
    def group(self) -> str:
        return group_of(self.api_version)

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.doc.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str | None:
        """Where the object lands: its own namespace, else its Application's destination."""
        if not self.namespaced:
            return None
        explicit = self.metadata.get("namespace")
        return str(explicit) if explicit else self.default_namespace

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.doc.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def ref(self) -> str:
        ns = self.namespace
        return f"{self.kind}/{ns}/{self.name}" if ns else f"{self.kind}/{self.name}"

    @property
    def identity(self) -> tuple[str, str, str, str]:
        return (self.group, self.kind, self.namespace or "", self.name)

    def labels(self) -> dict[str, str]:
        return _str_map(self.metadata.get("labels"))

    def annotations(self) -> dict[str, str]:
        return _str_map(self.metadata.get("annotations"))

    def is_a(self, kind: str, group: str | None = None) -> bool:
        return self.kind == kind and (group is None or self.group == group)


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def scope_overrides(docs: list[dict[str, Any]]) -> dict[tuple[str, str], bool]:
    """Scopes declared by CustomResourceDefinitions in the tree: (group, kind) → namespaced."""
    out: dict[tuple[str, str], bool] = {}
    for doc in docs:
        if doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = sub(doc, "spec")
        names = sub(spec, "names")
        if isinstance(spec.get("group"), str) and isinstance(names.get("kind"), str):
            out[(spec["group"], names["kind"])] = spec.get("scope") != "Cluster"
    return out


def is_namespaced(api_version: str, kind: str, overrides: dict[tuple[str, str], bool]) -> bool:
    key = (group_of(api_version), kind)
    if key in overrides:
        return overrides[key]
    return key not in CLUSTER_SCOPED


def dicts(value: Any) -> list[dict[str, Any]]:
    """The dict items of a list-valued field; anything malformed is kubeconform's to report."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def sub(value: Any, *keys: str) -> dict[str, Any]:
    """Walk nested mappings, yielding {} as soon as a level is missing or not a mapping."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}
