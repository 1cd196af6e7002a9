"""CustomResourceDefinitions made from bbgen's own bundled CRD schemas (``bbgen/kube/crds``).

A scratch API server (``validate --previous``, the tests) must know the custom kinds bbgen
renders (Argo CD Applications, cert-manager Issuers, Gateway API routes, Cilium policies)
before it can store or dry-run them. Upstream CRD files are not copied into the repository;
the JSON Schemas kubeconform already uses are turned into structural OpenAPI v3 schemas:

- ``$ref`` to ``$defs`` is inlined; ``const`` becomes a one-value ``enum``; a type list
  ``[integer, string]`` becomes ``x-kubernetes-int-or-string``.
- ``additionalProperties: false`` is dropped: the API server's strict field validation
  (``fieldValidation=Strict``) rejects unknown fields instead. An object that allows any
  keys is ``x-kubernetes-preserve-unknown-fields``.
- Conditions JSON Schema states with ``anyOf``/``oneOf`` of ``required`` lists and
  ``if``/``then`` on constant fields become CEL rules (``x-kubernetes-validations``), which
  is how upstream states them too (e.g. "a Service backendRef needs a port"). Only where
  every enclosing list and map has a size limit: under an unbounded one the API server's
  CEL cost estimate refuses the CRD (kubeconform still checks those conditions offline).
- ``metadata`` and the root ``apiVersion``/``kind`` are left to the API server.

Output is deterministic: the same bundled schemas give the same CRDs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bbgen.kube.schemas import crd_dir
from bbgen.validate.resources import CLUSTER_SCOPED

_KEEP = frozenset({
    "type", "description", "default", "maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "multipleOf",
    "enum", "maxProperties", "minProperties", "required", "nullable", "format",
})
_PRESERVE = "x-kubernetes-preserve-unknown-fields"
_RULES = "x-kubernetes-validations"


def plural(kind: str) -> str:
    """The resource name Kubernetes conventions give a kind (GatewayClass → gatewayclasses, Policy → policies)."""
    low = kind.lower()
    if low.endswith(("s", "x", "ch", "sh")):
        return low + "es"
    if low.endswith("y") and low[-2:-1] not in ("a", "e", "i", "o", "u"):
        return low[:-1] + "ies"
    return low + "s"


def _field(name: str) -> str:
    return f"self.{name}" if name.isidentifier() else f"self[{json.dumps(name)}]"


def _has(name: str) -> str:
    return f"has({_field(name)})" if name.isidentifier() else f"{json.dumps(name)} in self"


def _required_sets(options: list[Any]) -> list[list[str]] | None:
    """The required lists of ``anyOf``/``oneOf`` branches that only say ``required``, else None."""
    out: list[list[str]] = []
    for option in options:
        if not (isinstance(option, dict) and set(option) == {"required"} and isinstance(option["required"], list)):
            return None
        out.append([str(f) for f in option["required"]])
    return out


def _all_of(fields: list[str]) -> str:
    return " && ".join(_has(f) for f in fields) if fields else "true"


def _rule_any(sets: list[list[str]]) -> dict[str, str]:
    names = " or ".join("+".join(s) for s in sets)
    return {"rule": " || ".join(f"({_all_of(s)})" for s in sets), "message": f"must set {names}"}


def _rule_one(sets: list[list[str]]) -> dict[str, str]:
    names = ", ".join("+".join(s) for s in sets)
    terms = ", ".join(f"({_all_of(s)})" for s in sets)
    return {"rule": f"[{terms}].filter(x, x).size() == 1", "message": f"must set exactly one of {names}"}


def _rule_if_then(cond: Any, then: Any) -> dict[str, str] | None:
    """``if: {properties: {f: {const: v}}} then: {required: [...]}`` → one CEL rule (an absent field matches, as in JSON Schema)."""
    if not (isinstance(cond, dict) and set(cond) == {"properties"} and isinstance(then, dict) and set(then) == {"required"}):
        return None
    tests: list[str] = []
    for name, sub in sorted(cond["properties"].items()):
        if not (isinstance(sub, dict) and set(sub) == {"const"}):
            return None
        tests.append(f"(!{_has(name)} || {_field(name)} == {json.dumps(sub['const'])})")
    needed = [str(f) for f in then["required"]]
    when = " && ".join(f"{name}={json.dumps(sub['const'])}" for name, sub in sorted(cond["properties"].items()))
    return {"rule": f"!({' && '.join(tests)}) || ({_all_of(needed)})", "message": f"{', '.join(needed)} required when {when}"}


class _Converter:
    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs

    def node(self, schema: Any, stack: tuple[str, ...] = (), bounded: bool = True) -> dict[str, Any]:
        """``bounded``: every enclosing list and map has a size limit, so a CEL rule here has a cost the API server accepts."""
        if not isinstance(schema, dict):
            return {_PRESERVE: True}
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in stack or name not in self.defs:  # recursion: accept anything below
                return {_PRESERVE: True}
            return self.node({**self.defs[name], **{k: v for k, v in schema.items() if k != "$ref"}}, (*stack, name), bounded)
        out: dict[str, Any] = {k: v for k, v in schema.items() if k in _KEEP}
        if "const" in schema:
            out["enum"] = [schema["const"]]
        kind = schema.get("type")
        if isinstance(kind, list):
            out.pop("type")
            if set(kind) == {"integer", "string"}:
                out["x-kubernetes-int-or-string"] = True
            else:
                out[_PRESERVE] = True
        rules = self._rules(schema) if bounded else []
        if rules:
            out[_RULES] = rules
        if "items" in schema:
            out["items"] = self.node(schema["items"], stack, bounded and "maxItems" in schema)
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if isinstance(props, dict) and props:
            out["properties"] = {name: self.node(sub, stack, bounded) for name, sub in props.items()}
            if extra is True:
                out[_PRESERVE] = True
        elif isinstance(extra, dict):
            out["additionalProperties"] = self.node(extra, stack, bounded and "maxProperties" in schema)
        elif out.get("type") == "object" or ("type" not in out and "x-kubernetes-int-or-string" not in out):
            out[_PRESERVE] = True
        return out

    @staticmethod
    def _rules(schema: dict[str, Any]) -> list[dict[str, str]]:
        rules: list[dict[str, str]] = []
        for key, make in (("anyOf", _rule_any), ("oneOf", _rule_one)):
            sets = _required_sets(schema[key]) if isinstance(schema.get(key), list) else None
            if sets:
                rules.append(make(sets))
        if "if" in schema:
            rule = _rule_if_then(schema.get("if"), schema.get("then"))
            if rule:
                rules.append(rule)
        return rules


def openapi_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """One bundled JSON Schema as a structural ``openAPIV3Schema`` (root apiVersion/kind/metadata left to Kubernetes)."""
    defs = schema.get("$defs") if isinstance(schema.get("$defs"), dict) else {}
    root = _Converter(defs or {}).node({k: v for k, v in schema.items() if k not in ("$schema", "title", "$defs")})
    props = root.get("properties", {})
    for implicit in ("apiVersion", "kind", "metadata"):
        props.pop(implicit, None)
    required = [r for r in root.get("required", []) if r not in ("apiVersion", "kind", "metadata")]
    if required:
        root["required"] = required
    else:
        root.pop("required", None)
    root["type"] = "object"
    return root


def _version_key(version: str) -> tuple[int, int, int]:
    """Stable versions sort above betas above alphas; then by number (v1 > v1beta1 > v1alpha2)."""
    rest = version.removeprefix("v")
    number, _, tail = rest.partition("alpha") if "alpha" in rest else rest.partition("beta")
    stage = 0 if "alpha" in rest else 1 if "beta" in rest else 2
    return (int(number or 0), stage, int(tail or 0))


def _metadata(kind: str, group: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": f"{plural(kind)}.{group}", "labels": {"app.kubernetes.io/managed-by": "bbgen-crdgen"}}
    if group.endswith((".k8s.io", ".kubernetes.io")):  # a protected group: the API server wants to hear it is no upstream API
        meta["annotations"] = {"api-approved.kubernetes.io": "unapproved, generated by bbgen from its bundled schema"}
    return meta


def bundled_crds(root: Path | None = None) -> list[dict[str, Any]]:
    """One CustomResourceDefinition per bundled kind, every bundled version served, the most stable one stored."""
    base = root or crd_dir()
    kinds: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for path in sorted(base.glob("*/*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        kind = schema["properties"]["kind"]["enum"][0]
        version = path.stem.rpartition("_")[2]
        kinds.setdefault((path.parent.name, kind), {})[version] = schema
    out: list[dict[str, Any]] = []
    for (group, kind), versions in sorted(kinds.items()):
        storage = max(versions, key=_version_key)
        out.append({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": _metadata(kind, group),
            "spec": {
                "group": group,
                "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural(kind), "singular": kind.lower()},
                "scope": "Cluster" if (group, kind) in CLUSTER_SCOPED else "Namespaced",
                "versions": [
                    {
                        "name": name,
                        "served": True,
                        "storage": name == storage,
                        "schema": {"openAPIV3Schema": openapi_schema(versions[name])},
                        "subresources": {"status": {}},
                    }
                    for name in sorted(versions, key=_version_key, reverse=True)
                ],
            },
        })
    return out
