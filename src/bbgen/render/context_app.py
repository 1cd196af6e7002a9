"""The custom-app part of the template contract (`unit.workload`): what an app runs as and how.

Apart from render/context.py (which re-exports it) because the workload model grows
field by field (ports, autoscaling, migrations, files, volumes); docs/templates.md
documents these classes like the rest of the contract.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Kube = Mapping[str, Any]  # a Kubernetes-shaped mapping, passed to `| q` whole


@dataclass(frozen=True, kw_only=True, slots=True)
class Autoscale:
    """The HorizontalPodAutoscaler of an app (autoscaling/v2, on CPU)."""

    min: int
    """`minReplicas`."""
    max: int
    """`maxReplicas`."""
    cpu: int
    """Target average CPU utilisation, percent of the CPU request."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Migration:
    """The app's migration Job, run by Argo CD as a PreSync hook before each sync."""

    name: str
    """Job name (`<app>-migrate`)."""
    command: Sequence[str]
    """Container `command`."""
    args: Sequence[str]
    """Container `args` (empty: none)."""
    labels: Mapping[str, str]
    """Its pods' labels: the app's, with name and instance `<app>-migrate`, so the app's Service, budget and spread never count them."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AppFiles:
    """A custom app's `files`: the one ConfigMap holding them (its checksum, which rolls the pods, is added after rendering)."""

    configMap: str
    """ConfigMap name (`<app>-files`)."""
    data: Mapping[str, str]
    """Its data: each file's text under its key (the mount path without its leading `/`, `/` written `_`)."""
    serverSideApply: bool
    """Too big for the annotation Argo CD's client-side apply keeps (over 200 KiB): applied server-side."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Workload:
    """What a custom app runs as, and how its container starts and is checked."""

    kind: str
    """`service` (Deployment + Service), `worker` (Deployment only), `job` (Job) or `cronjob` (CronJob)."""
    schedule: str | None
    """The CronJob's schedule (`cronjob`), else none."""
    command: Sequence[str]
    """Container `command` (empty: the image's entrypoint)."""
    args: Sequence[str]
    """Container `args` (empty: the image's)."""
    readinessProbe: Kube | None
    """Kubernetes readiness probe, or none."""
    livenessProbe: Kube | None
    """Kubernetes liveness probe, or none."""
    containerPorts: Sequence[Kube]
    """The container's `ports` (Kubernetes ContainerPort list): every named port; a service without `ports` has its one port named `http`."""
    servicePorts: Sequence[Kube]
    """The Service's `ports` (a service only, else empty): the routed (or first) port as `http` on 80, then every other port under its name and number."""
    autoscale: Autoscale | None
    """Its autoscaler (a service or worker with `autoscale`; the Deployment then has no `replicas`), else none."""
    spread: bool
    """Whether it runs several pods at once (a service or worker with `replicas` > 1 or an autoscaler that may scale past 1): it then gets a PodDisruptionBudget (`maxUnavailable: 1`) and spreads its pods across nodes."""
    migrate: Migration | None
    """Its migration Job (`migrate`), else none."""
    imagePullSecrets: Sequence[Kube]
    """Pod `imagePullSecrets` (`[{name: …}]`)."""
    serviceAccount: str | None
    """ServiceAccount the pods run as (its token mounted), or none (no token)."""
    controller: str
    """Kind of the object running the pods: `Deployment`, `StatefulSet` (a service or worker with a persistent volume), `Job` or `CronJob`."""
    files: AppFiles | None
    """Its mounted files' ConfigMap, or none without `files`."""
    volumes: Sequence[Kube]
    """Pod volumes besides the writable /tmp (Kubernetes Volume list): each emptyDir, then the files' ConfigMap."""
    volumeMounts: Sequence[Kube]
    """Container mounts besides /tmp (Kubernetes VolumeMount list): each emptyDir, then each file (subPath, read-only)."""
    claimMounts: Sequence[Kube]
    """Mounts of the persistent volumes' claims (a StatefulSet's pods; not its migration Job)."""
    volumeClaimTemplates: Sequence[Kube]
    """A StatefulSet's claim templates, one per persistent volume, on the platform's StorageClass."""
    headlessService: str | None
    """The headless Service giving a StatefulSet's pods stable names (`<app>-headless`), else none."""
