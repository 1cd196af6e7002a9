"""`bbgen validate --server`: a server-side dry-run of every rendered object against a real API server.

kubeconform knows schemas; only the API server knows everything Argo CD's sync will run
into: strict field validation, CEL rules of CRDs, admission policies and webhooks,
immutable fields, the APIs the cluster really serves. Every object the offline run
checked (each Kustomize root's build output, each plain file, and ``extra`` objects such
as chart output) is sent as a server-side apply with ``dryRun=All``, field manager
``argocd-controller``, ``fieldValidation=Strict`` and forced conflicts: what Argo CD's
ServerSideApply sync would send, minus the write. Each rejection is a finding naming the
file and object. A live cluster is only read (discovery, the namespace list) and
dry-run against; nothing is created there.

Dry runs store nothing, so what the render itself would create first needs care:
- Namespaces and CRDs go first (their own rejections are reported first).
- An object in a namespace the cluster lacks but the render creates (a Namespace object
  or an Application with ``CreateNamespace=true``) is checked in namespace ``default``
  instead, so its schema, strict fields, CEL rules and admission are still checked; a
  rejection says so. A namespace neither the cluster nor the render has is a finding.
- A custom resource whose CRD only this render brings cannot be checked by a cluster that
  lacks the CRD: a warning says it was not checked (kubeconform checked it offline).
  A kind neither the cluster serves nor the render defines is a finding.

``--previous DIR`` starts a scratch API server (``bbgen.kube.scratch``: the pinned
binaries scripts/install-kube.sh builds), installs the CRDs generated from bbgen's bundled
schemas, really applies the previous render there, then dry-runs the new one against that
state, so changes the API server refuses on update (StatefulSet volumeClaimTemplates,
Service clusterIP, Job templates, selectors) are findings before Argo CD meets them.
"""

from __future__ import annotations

import copy
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbgen.errors import ServerError, UsageError
from bbgen.kube.apiclient import Cluster
from bbgen.progress import Progress, nothing
from bbgen.validate.findings import Finding, Severity

CHECK = "server"
STAND_IN_NAMESPACE = "default"
WORKERS = 4
CRD_WAIT = 60.0
_FIRST = ("CustomResourceDefinition", "Namespace")
Log = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class ServerObject:
    """One object to dry-run, and where a person finds it."""

    doc: dict[str, Any]
    file: str
    ref: str
    default_namespace: str | None = None
    """Where it lands when it names no namespace (its Application's destination)."""
    note: str = ""
    """Said after each finding's message (e.g. that a chart rendered it)."""


@dataclass(frozen=True, kw_only=True)
class ServerOptions:
    """What ``validate --server`` was asked; ``extra`` is the hook for objects validate renders itself (chart output)."""

    kubeconfig: Path | None = None
    context: str | None = None
    previous: Path | None = None
    extra: tuple[ServerObject, ...] = ()


def _meta(doc: dict[str, Any]) -> dict[str, Any]:
    meta = doc.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _shorten(message: str, keep: int = 300) -> str:
    """The API server quotes whole structs in some messages ("Invalid value: [{...}]"); keep the start and the verdict."""
    return message if len(message) <= 2 * keep + 20 else f"{message[:keep]} … {message[-keep:]}"


def _group(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


@dataclass(frozen=True, kw_only=True)
class _Plan:
    """What the render itself would create: namespaces and CRD-defined (group, kind)s."""

    namespaces: frozenset[str]
    crds: dict[tuple[str, str], str]

    @staticmethod
    def of(objects: Iterable[ServerObject]) -> _Plan:
        namespaces: set[str] = set()
        crds: dict[tuple[str, str], str] = {}
        for obj in objects:
            kind, meta = obj.doc.get("kind"), _meta(obj.doc)
            spec = obj.doc.get("spec") if isinstance(obj.doc.get("spec"), dict) else {}
            assert isinstance(spec, dict)
            if kind == "Namespace" and meta.get("name"):
                namespaces.add(str(meta["name"]))
            elif kind == "CustomResourceDefinition":
                names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
                assert isinstance(names, dict)
                crds[(str(spec.get("group", "")), str(names.get("kind", "")))] = str(meta.get("name", ""))
            elif kind == "Application" and _group(str(obj.doc.get("apiVersion", ""))) == "argoproj.io":
                options = (spec.get("syncPolicy") or {}).get("syncOptions") or []
                dest = (spec.get("destination") or {}).get("namespace")
                if dest and "CreateNamespace=true" in options:
                    namespaces.add(str(dest))
        return _Plan(namespaces=frozenset(namespaces), crds=crds)


class _Run:
    """One dry-run (or, for ``--previous``, store) pass over objects against one cluster."""

    def __init__(self, cluster: Cluster, plan: _Plan, *, persist: bool, check: str = CHECK) -> None:
        self.cluster = cluster
        self.plan = plan
        self.persist = persist
        self.check = check
        self.namespaces = cluster.namespaces()
        cluster.resources()  # discovery once, before the worker threads read it

    def finding(self, obj: ServerObject, message: str, severity: Severity = "error") -> Finding:
        text = f"{message} ({obj.note})" if obj.note else message
        return Finding(check=self.check, file=obj.file, resource=obj.ref, message=text, severity=severity)

    def one(self, obj: ServerObject) -> list[Finding]:
        api_version, kind = str(obj.doc.get("apiVersion", "")), str(obj.doc.get("kind", ""))
        resource = self.cluster.resources().get((api_version, kind))
        if resource is None:
            crd = self.plan.crds.get((_group(api_version), kind))
            if crd is not None:
                why = f"the cluster does not serve {kind} in {api_version} yet; this render's CustomResourceDefinition {crd} adds it"
                return [self.finding(obj, f"not checked by the server: {why}", "warning")]
            return [self.finding(obj, f"the server does not serve {kind} in {api_version} (is its CustomResourceDefinition installed?)")]
        name = str(_meta(obj.doc).get("name") or "")
        if not name:
            return [self.finding(obj, "not checked by the server: the object has no metadata.name", "warning")]
        doc = copy.deepcopy(obj.doc)
        meta = doc.setdefault("metadata", {})
        note = ""
        namespace: str | None = None
        if resource.namespaced:
            namespace = str(meta.get("namespace") or obj.default_namespace or STAND_IN_NAMESPACE)
            if namespace not in self.namespaces:
                if namespace not in self.plan.namespaces:
                    return [self.finding(obj, f"namespace {namespace} does not exist on the cluster and this render does not create it")]
                note = f" (checked in namespace {STAND_IN_NAMESPACE}: {namespace} is created by this render and not on the cluster yet)"
                namespace = STAND_IN_NAMESPACE
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        answer = self.cluster.apply(self.cluster.object_path(api_version, resource, namespace, name), doc, persist=self.persist)
        out = [self.finding(obj, f"server warning: {w}", "warning") for w in answer.warnings]
        if not answer.ok:
            out.append(self.finding(obj, f"{'not stored' if self.persist else 'rejected'}: {_shorten(answer.message)}{note}"))
        elif self.persist and kind == "Namespace":
            self.namespaces.add(name)
        return out

    def all(self, objects: list[ServerObject], progress: Progress, label: str) -> list[Finding]:
        unique = list({(o.file, o.ref, repr(o.doc)): o for o in objects}.values())
        first = [o for o in unique if o.doc.get("kind") in _FIRST]
        rest = [o for o in unique if o.doc.get("kind") not in _FIRST]
        findings: list[Finding] = []
        done = 0
        progress(label, 0, len(unique))
        for phase in (first, rest):
            with ThreadPoolExecutor(max_workers=1 if self.persist else WORKERS) as pool:
                for result in pool.map(self.one, phase):
                    findings += result
                    done += 1
                    progress(label, done, len(unique))
            if self.persist and phase is first:
                wait_for_kinds(self.cluster, [o.doc for o in first])
        return findings


def wait_for_kinds(cluster: Cluster, crds: Iterable[dict[str, Any]], timeout: float = CRD_WAIT) -> None:
    """Wait until discovery serves every version of these CRDs (only after that can their objects be stored)."""
    wanted = set()
    for crd in crds:
        spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
        if crd.get("kind") != "CustomResourceDefinition" or not isinstance(spec, dict):
            continue
        for version in spec.get("versions") or []:
            if version.get("served", True):
                wanted.add((f"{spec.get('group')}/{version.get('name')}", str((spec.get("names") or {}).get("kind"))))
    deadline = time.monotonic() + timeout
    while wanted - set(cluster.resources(refresh=True)):
        if time.monotonic() > deadline:
            missing = ", ".join(sorted(f"{k} ({v})" for v, k in wanted - set(cluster.resources())))
            raise ServerError(what="scratch API server", message=f"CustomResourceDefinitions not served after {timeout:.0f}s: {missing}")
        time.sleep(0.5)


def install_bundled_crds(cluster: Cluster) -> None:
    """Store the CRDs generated from bbgen's bundled schemas (a scratch server only) and wait until they are served."""
    from bbgen.validate.crdgen import bundled_crds  # lazy

    crds = bundled_crds()
    for crd in crds:
        answer = cluster.apply(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}", crd, persist=True)
        if not answer.ok:
            raise ServerError(what="scratch API server", message=f"CRD {crd['metadata']['name']} generated from the bundled schema was refused: {answer.message}")
    wait_for_kinds(cluster, crds)


def dry_run(cluster: Cluster, objects: list[ServerObject], progress: Progress = nothing, log: Log | None = None) -> list[Finding]:
    """Dry-run every object against ``cluster`` (read-only); findings for rejections and for what could not be checked."""
    findings = _Run(cluster, _Plan.of(objects), persist=False).all(objects, progress, f"server dry-run ({len(objects)} objects)")
    if log:
        count = len({(o.file, o.ref, repr(o.doc)) for o in objects})
        log(f"server dry-run: {count} objects, {sum(f.severity == 'error' for f in findings)} rejected, {sum(f.severity == 'warning' for f in findings)} warnings")
    return findings


def seed(cluster: Cluster, objects: list[ServerObject], progress: Progress = nothing) -> list[Finding]:
    """Really store ``objects`` (the previous render) on a scratch server; what it refuses is a warning, not the new render's fault."""
    plan = _Plan.of(objects)
    run = _Run(cluster, plan, persist=True, check="server-previous")
    stub = [ServerObject(doc={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, file="(previous render)", ref=f"Namespace/{ns}") for ns in sorted(plan.namespaces)]
    findings = run.all(stub + objects, progress, f"storing the previous render ({len(objects)} objects)")
    kept = [f for f in findings if not f.message.startswith("server warning: ")]  # the new render's own run reports those
    return [Finding(check=f.check, file=f.file, resource=f.resource, message=f"previous render: {f.message}", severity="warning") for f in kept]


def check(objects: list[ServerObject], options: ServerOptions, *, log: Log | None = None, progress: Progress = nothing, previous: Callable[[Path], list[ServerObject]] | None = None) -> list[Finding]:
    """The whole ``--server`` step: against the kubeconfig's cluster, or (``--previous``) a scratch server holding the previous render."""
    objects = objects + list(options.extra)
    if options.previous is None:
        cluster = Cluster(kubeconfig=options.kubeconfig, context=options.context)
        if log:
            log(f"{cluster.kubectl} proxy" + (f" --context={options.context}" if options.context else "") + (f" --kubeconfig={options.kubeconfig}" if options.kubeconfig else ""))
        with cluster:
            return dry_run(cluster, objects, progress, log)
    if options.kubeconfig is not None or options.context is not None:
        raise UsageError(message="--previous dry-runs against a scratch API server bbgen starts itself", hint="drop --context/--kubeconfig, or drop --previous to check a live cluster")
    if previous is None or not options.previous.is_dir():
        raise UsageError(message=f"--previous {options.previous}: not a directory", hint="pass the directory of the previous render")
    from bbgen.kube.scratch import ScratchServer, binary  # lazy

    old = previous(options.previous)
    with tempfile.TemporaryDirectory(prefix="bbgen-scratch-") as tmp, ScratchServer(base=Path(tmp)) as scratch:
        if log:
            log(f"scratch API server at {scratch.url} (in {tmp})")
        with Cluster(kubeconfig=scratch.kubeconfig, kubectl=binary("kubectl")) as cluster:
            install_bundled_crds(cluster)
            findings = seed(cluster, old, progress)
            return findings + dry_run(cluster, objects, progress, log)
