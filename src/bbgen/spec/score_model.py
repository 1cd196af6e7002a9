"""The shape of a Score workload file (``score.dev/v1b1``), as far as bbgen reads one.

Written from the public Score specification's facts (field names, which are required,
which are mappings), not from its schema file, and validated with the same located
pydantic errors as the spec, so a mistake in a team's ``score.yaml`` is reported at its
own line. What a field *means* for bbgen, and what bbgen cannot honour, is decided in
:mod:`bbgen.spec.score`; this module only refuses what is not Score at all.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from bbgen.spec.models import SpecModel
from bbgen.spec.scalars import DnsLabelKey, NonEmpty, Port

API_VERSION = "score.dev/v1b1"


class ScoreMetadata(SpecModel):
    """`metadata`: Score allows any extra key here; bbgen reads `name` only."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(description="The workload's name (a DNS label).")
    annotations: dict[str, str] = Field(default_factory=dict)


class ServicePort(SpecModel):
    """One named port of `service.ports`: `port` is the service's, `targetPort` (default `port`) the container's."""

    port: Port
    protocol: Literal["TCP", "UDP"] = "TCP"
    target_port: Port | None = None


class Service(SpecModel):
    ports: dict[DnsLabelKey, ServicePort] = Field(default_factory=dict)


class ScoreResource(SpecModel):
    """One entry of `resources`: what the workload needs, by type."""

    type: NonEmpty
    class_: NonEmpty | None = Field(default=None, alias="class")
    id: NonEmpty | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)


class ResourceAmounts(SpecModel):
    cpu: str | None = None
    memory: str | None = None


class ContainerResources(SpecModel):
    requests: ResourceAmounts | None = None
    limits: ResourceAmounts | None = None


class HttpHeader(SpecModel):
    name: NonEmpty
    value: NonEmpty


class HttpProbe(SpecModel):
    path: str
    port: Port
    host: NonEmpty | None = None
    scheme: Literal["HTTP", "HTTPS"] | None = None
    http_headers: list[HttpHeader] = Field(default_factory=list)


class ExecProbe(SpecModel):
    command: list[str]


class Probe(SpecModel):
    """A probe: `httpGet` and/or `exec` (Score prefers `exec` when both are given)."""

    http_get: HttpProbe | None = None
    exec: ExecProbe | None = None


class ContainerFile(SpecModel):
    """A file mounted into the container: one of `content`, `source` (relative to the Score file) or `binaryContent`."""

    target: NonEmpty | None = None
    mode: str | None = Field(default=None, pattern=r"^0?[0-7]{3}$")
    source: NonEmpty | None = None
    content: str | None = None
    binary_content: str | None = None
    no_expand: bool = False


class ContainerVolume(SpecModel):
    source: str
    path: str | None = None
    target: str | None = None
    read_only: bool = False


class ReadyWhen(SpecModel):
    ready: Literal["started", "healthy", "complete"]


class Container(SpecModel):
    image: NonEmpty
    command: list[str] | None = None
    args: list[str] | None = None
    variables: dict[str, str] = Field(default_factory=dict)
    files: dict[str, ContainerFile] | list[ContainerFile] = Field(default_factory=dict)
    volumes: dict[str, ContainerVolume] | list[ContainerVolume] = Field(default_factory=dict)
    before: dict[str, ReadyWhen] = Field(default_factory=dict)
    resources: ContainerResources | None = None
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None


class Workload(SpecModel):
    """A whole Score file."""

    api_version: str = Field(description=f"Must be `{API_VERSION}`.")
    metadata: ScoreMetadata
    service: Service | None = None
    containers: dict[str, Container] = Field(min_length=1)
    resources: dict[DnsLabelKey, ScoreResource] = Field(default_factory=dict)
