"""The building blocks every part of the spec model shares: the strict base model and the small objects
(resources, basic auth, OIDC client, patches) that components and custom apps both carry.

Kept apart from :mod:`bbgen.spec.models` (which re-exports all of it) so the custom-app model
(:mod:`bbgen.spec.app_models`) and the platform model can both build on it without an import cycle.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from bbgen.spec.scalars import DnsLabel, DnsName, NonEmpty, Quantity


class SpecModel(BaseModel):
    """Base: unknown keys are errors, YAML keys are camelCase, and types are strict.

    Strict mode keeps YAML's loose scalars honest: `port: true` or `enabled: "on"`
    are errors rather than a silent 1 or True.
    """

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=False,
        frozen=True,
        strict=True,
    )


class ResourceAmounts(SpecModel):
    """An amount of CPU and memory, in Kubernetes quantity notation."""

    cpu: Quantity | None = Field(default=None, description="CPU, in cores or millicores (e.g. `250m`, `2`).")
    memory: Quantity | None = Field(default=None, description="Memory (e.g. `512Mi`, `4Gi`).")


class Resources(SpecModel):
    """Requests and limits of one container replica; unset values keep the catalog's."""

    requests: ResourceAmounts | None = Field(default=None, description="What the scheduler reserves for each replica.")
    limits: ResourceAmounts | None = Field(default=None, description="The ceiling for each replica; memory over the limit is OOM-killed.")


class BasicAuth(SpecModel):
    """HTTP basic auth in front of a public host, for tools that have no login of their own."""

    enabled: bool = Field(default=False, description="Put HTTP basic auth in front of this host (the htpasswd Secret is created out of band).")
    secret_name: DnsName | None = Field(default=None, description="Secret holding the htpasswd content under key `auth`; defaults to `<component>-basic-auth`.")
    realm: str = Field(default="Authentication required", description="Realm shown by the browser's password prompt.")


ScalarValue = str | int | float | bool


class Oidc(SpecModel):
    """A Keycloak client for this component or app, in the platform realm (`sso.realm`)."""

    client_id: DnsLabel | None = Field(default=None, description="Client id in the realm; defaults to the component or app name.")
    public: bool = Field(
        default=False,
        description=(
            "A public client (a browser app using PKCE, no secret). Otherwise confidential: bbgen plans a generated "
            "client secret (`oidc-<clientId>`, key `client-secret`) shared by Keycloak and the client."
        ),
    )


class PatchTarget(SpecModel):
    """Which rendered object a patch changes: one object of the unit, by kind and name."""

    kind: NonEmpty = Field(description="Kind of the object (e.g. `Deployment`).")
    name: NonEmpty = Field(description="`metadata.name` of the object.")
    namespace: DnsLabel | None = Field(default=None, description="Namespace of the object; omitted: any (the unit's objects share one).")


class JsonPatchOp(SpecModel):
    """One RFC 6902 operation; `path` and `from` are RFC 6901 pointers (`/spec/template/spec/containers/0/args`)."""

    op: Literal["add", "remove", "replace", "move", "copy", "test"] = Field(description="The operation.")
    path: Annotated[str, StringConstraints(pattern=r"^(/.*)?$")] = Field(description="JSON pointer to the place operated on (`\"\"` is the whole object).")
    value: Any = Field(default=None, description="Value for `add`, `replace` and `test` (required for those).")
    from_: Annotated[str, StringConstraints(pattern=r"^(/.*)?$")] | None = Field(default=None, alias="from", description="Source pointer for `move` and `copy` (required for those).")

    @model_validator(mode="after")
    def _operands(self) -> JsonPatchOp:
        if self.op in ("add", "replace", "test") and "value" not in self.model_fields_set:
            raise ValueError(f"`{self.op}` needs a `value`")
        if self.op in ("move", "copy") and self.from_ is None:
            raise ValueError(f"`{self.op}` needs a `from` pointer")
        return self


class Patch(SpecModel):
    """A change to one object bbgen renders, for the setting the catalog does not expose.

    Applied in memory before the base/overlay split, so the result is validated like every rendered object.
    Strategic merge, e.g. `{target: {kind: Deployment, name: web}, patch: {spec: {template: {spec: {terminationGracePeriodSeconds: 45}}}}}`;
    JSON 6902, e.g. `{target: {kind: Service, name: web}, ops: [{op: add, path: /metadata/annotations, value: {team: web}}]}`.
    """

    target: PatchTarget = Field(description="The rendered object to change; one that does not exist is a spec error.")
    patch: dict[str, Any] | None = Field(
        default=None,
        description=(
            "A strategic-merge patch: mappings merge deeply; lists of mappings with a `name` key (containers, env, ports, "
            "volumes, ...) merge item by item by name, other lists replace; `null` deletes a key; `$patch: delete` in a "
            "named list item removes that item."
        ),
    )
    ops: list[JsonPatchOp] | None = Field(default=None, description="A JSON 6902 patch: `add`, `remove`, `replace`, `move`, `copy`, `test`, applied in order.")

    @model_validator(mode="after")
    def _one_kind(self) -> Patch:
        if (self.patch is None) == (self.ops is None):
            raise ValueError("give exactly one of `patch` (strategic merge) or `ops` (JSON 6902)")
        return self


PATCHES_DESCRIPTION = (
    "Patches to the objects bbgen renders for it (escape hatch: a setting the catalog does not expose), strategic merge or "
    "JSON 6902 (see Patch for an example of each); a target that matches nothing is a spec error."
)
PUBLIC_DESCRIPTION = (
    "Serve the public host without any authentication, on purpose (a public website or an API that checks its own keys): "
    "without it a host whose component has no login of its own needs `basicAuth` or `oidc`; with it, render and validate warn, listing the host."
)


MANIFESTS_DESCRIPTION = (
    "Extra manifest files (paths relative to the spec file) added to its Kustomize base and owned by bbgen: Kubernetes objects "
    "only, no Secret with data (e.g. `manifests: [extra/web-configmap.yaml]`). Named `manifests` because `resources` is requests and limits."
)
HELM_VALUES_DESCRIPTION = (
    "Helm values deep-merged over the values bbgen renders, written to this component's values file only "
    "(chart components only; mappings merge, lists replace; e.g. `helmValues: {podLabels: {team: platform}}`)."
)
