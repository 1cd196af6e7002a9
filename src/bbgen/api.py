"""The public operations; the CLI is a thin mapping of options onto these.

Each function takes plain values (paths, flags), never CLI objects, and raises
``bbgen.errors.BbgenError`` subclasses; it prints nothing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable

from bbgen.errors import UsageError
from bbgen.progress import nothing

if TYPE_CHECKING:
    from bbgen.diff import DiffResult
    from bbgen.promote import PromoteResult
    from bbgen.progress import Progress
    from bbgen.push import PushResult
    from bbgen.render.tree import Tree
    from bbgen.render.write import WriteResult
    from bbgen.secrets.generate import GenerateResult
    from bbgen.spec.show import MergedSpec
    from bbgen.render.inventory import SecretsPlan
    from bbgen.starter import InitResult
    from bbgen.validate import Finding, Report
    from bbgen.validate.charts_source import ChartOptions
    from bbgen.validate.install import ToolStatus
    from bbgen.validate.server import ServerOptions


def build(spec: Path) -> Tree:
    """Load the spec and render the repository in memory."""
    from bbgen.render.build import build_tree  # lazy
    from bbgen.spec import load_platform  # lazy

    return build_tree(load_platform(spec))


def render(spec: Path, out: Path, *, adopt: bool = False) -> WriteResult:
    """Render ``spec`` into ``out``: only changed bytes are written, only owned files removed.

    The leak guard runs on the in-memory tree first, so a render that would put a
    secret value into git writes nothing (``bbgen.errors.LeakError``, exit 1).
    ``adopt`` lets a non-empty directory without a bbgen manifest be rendered into.
    """
    from bbgen.render.outdir import refuse_unsafe  # lazy
    from bbgen.render.write import write_tree  # lazy
    from bbgen.secrets import guard  # lazy

    refuse_unsafe(out)  # before the work of a render; write_tree checks again
    tree = build(spec)
    guard.check(tree, action="render")
    result = write_tree(tree, out, adopt=adopt)
    return dataclasses.replace(result, warnings=sorted(set(tree.warnings)))


def validate(
    directory: Path,
    *,
    kubernetes_version: str | None = None,
    log: Callable[[str], None] | None = None,
    progress: Progress | None = None,
    server: ServerOptions | None = None,
    charts: ChartOptions | None = None,
) -> Report:
    """kustomize build + kubeconform + cross-resource checks over a rendered directory.

    With ``charts`` (:func:`chart_options`), the chart-delivered components are rendered
    with helm and their output checked too; ``None`` checks only their values files.

    The directory must hold a bbgen manifest (``.bbgen/manifest.json``, also in any
    clone of a repository bbgen pushed) and something to check: a CI job pointed at
    the wrong path must fail, not report "checked 0 objects" and pass. An explicit
    ``kubernetes_version`` must be one bbgen has schemas for. ``server`` adds the
    server-side dry-run against a live cluster or, with ``previous``, a scratch one.
    """
    from bbgen.render.outdir import JOURNAL_NAME  # lazy
    from bbgen.render.paths import MANIFEST_PATH  # lazy
    from bbgen.validate import validate_tree  # lazy

    if not directory.is_dir():
        raise UsageError(message=f"{directory}: no such directory", hint="pass the directory `bbgen render --out` wrote")
    if not (directory / MANIFEST_PATH).is_file():
        raise UsageError(
            message=f"{directory}: holds no bbgen manifest ({MANIFEST_PATH}); nothing to validate",
            hint="pass the directory `bbgen render --out` wrote, or a checkout of the GitOps repository bbgen pushed",
        )
    if (directory / JOURNAL_NAME).exists():
        raise UsageError(
            message=f"{directory}: a bbgen render was stopped while moving files into place; its files are half old, half new",
            hint="run the same `bbgen render` again to complete it, then validate",
        )
    if kubernetes_version is not None:
        from bbgen.kube.schemas import require_bundled  # lazy

        try:
            require_bundled(kubernetes_version)
        except ValueError as exc:
            raise UsageError(message=f"--kubernetes-version {kubernetes_version}: {exc}") from None
    if charts is not None and charts.directory is not None and not charts.directory.is_dir():
        raise UsageError(message=f"--charts {charts.directory}: no such directory", hint="pass a directory of unpacked `<chart>-<version>/` trees")
    report = validate_tree(directory, kubernetes_version=kubernetes_version, log=log, progress=progress, charts=charts, server=server)
    if not report.builds and not report.checked:
        raise UsageError(
            message=f"{directory}: no kustomization and no Kubernetes object found; nothing to validate",
            hint="pass the directory `bbgen render --out` wrote",
        )
    from bbgen.secrets import guard  # lazy

    report.findings = sorted(set(report.findings) | set(guard.findings(guard.scan_directory(directory))), key=lambda f: f.sort_key())
    return report


def chart_options(*, directory: Path | None = None, enabled: bool = True, allow_other_version: bool = False) -> ChartOptions:
    """How `validate` finds upstream charts: ``directory`` (else $BBGEN_CHARTS), the cache, then `helm pull`."""
    from bbgen.secrets import guard  # lazy
    from bbgen.validate.charts_source import ChartOptions  # lazy

    def leak_scan(path: str, docs: list[Any]) -> list[Finding]:
        return guard.findings(guard.scan_rendered(path, docs))

    return ChartOptions(enabled=enabled, directory=directory, allow_other_version=allow_other_version, leak_scan=leak_scan)


def graph(spec: Path, *, env: str = "prod") -> str:
    """The platform drawn as a Mermaid flowchart (the picture the generated README embeds)."""
    from bbgen.catalog import load_catalog  # lazy
    from bbgen.render.graph import mermaid  # lazy
    from bbgen.render.units import env_units  # lazy
    from bbgen.spec import load_platform  # lazy

    platform = load_platform(spec)
    if env not in platform.environments:
        raise UsageError(message=f"--env {env!r}: the spec has {', '.join(sorted(platform.environments))}")
    from bbgen.spec.merge import env_view  # lazy

    # that environment's units: a layer may disable, add or re-host one; a spoke runs no Argo CD
    return mermaid(env_view(platform, env), env_units(platform, load_catalog(), env), env)


def spec(spec: Path, *, env: str = "prod") -> MergedSpec:
    """One environment's merged spec (base plus its layer) with where each value was written; validates the whole spec first."""
    from bbgen.spec.show import merged_spec  # lazy

    return merged_spec(spec, env)


def promote(
    spec: Path, name: str, *, source: str, target: str, what: list[str] | None = None,
    settings: bool = False, dry_run: bool = False,
) -> tuple[PromoteResult, DiffResult]:
    """Promote what ``source`` sees of component or app ``name`` to ``target`` in the spec file, and what that changes.

    The DiffResult compares the render before and after (in memory) and keeps only
    ``target``'s files: another environment's overlay that now pins the value it
    had is not part of the promotion's effect. ``dry_run`` writes nothing; neither
    does a promotion with nothing to change.
    """
    from bbgen.diff import diff_files  # lazy
    from bbgen.promote import belongs_elsewhere, promote as compute, write  # lazy
    from bbgen.render.build import build_tree  # lazy
    from bbgen.spec import load_platform  # lazy

    result = compute(spec, name, source=source, target=target, what=what or ["image"], settings=settings)
    if not result.changes:
        from bbgen.diff import DiffResult  # lazy

        return result, DiffResult()
    import tempfile

    before = load_platform(spec)
    with tempfile.TemporaryDirectory(prefix="bbgen-promote-") as tmp:
        candidate = Path(tmp) / spec.name
        candidate.write_text(result.after, encoding="utf-8")
        after = load_platform(candidate, directory=spec.parent)  # its Score files and manifests are beside the spec
    envs = sorted(before.environments)
    new = {p: b for p, b in build_tree(after).with_manifest().items() if not belongs_elsewhere(p, target, envs)}
    old = {p: b for p, b in build_tree(before).with_manifest().items() if not belongs_elsewhere(p, target, envs)}
    changes = diff_files(new, old)
    if not dry_run:
        write(spec, result.after)
    return result, changes


def json_schema() -> dict[str, Any]:
    """JSON Schema of the spec, for editors (yaml-language-server `$schema`)."""
    from bbgen.spec.schema import json_schema as spec_schema  # lazy

    return spec_schema()


def json_schema_text() -> str:
    """The schema as `bbgen schema` prints it and `bbgen init` writes it: one canonical text, so the files compare equal."""
    from bbgen.spec.schema import json_schema_text as spec_schema_text  # lazy

    return spec_schema_text()


def _spec_digest(spec: Path) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(spec.read_bytes()).hexdigest()


def _target(spec_platform: Any, url: str | None, owner: str | None, repo: str | None, branch: str | None) -> Any:
    from bbgen.gitea import Target, plain_url  # lazy

    g = spec_platform.gitops
    base = plain_url(url, what="--url") if url else plain_url(g.url, what="gitops.url")
    return Target(url=base, owner=owner or g.owner, repo=repo or g.repo, branch=branch or g.branch)


def diff(
    spec: Path,
    *,
    against: Path | None = None,
    remote: bool = False,
    token: str = "",
    ca_bundle: str | None = None,
    url: str | None = None,
    owner: str | None = None,
    repo: str | None = None,
    branch: str | None = None,
    timeout: float = 20.0,
    log: Callable[[str], None] | None = None,
    progress: Progress | None = None,
    unsafe: bool | None = None,
    at: str | None = None,
) -> DiffResult:
    """Compare a fresh render with a directory or with the Gitea branch (owned files only).

    ``at``: read ``against`` as git revision ``at`` holds it (`HEAD`: what committing the
    render changes), not as it is on disk.

    With ``remote`` the result names the commit compared with (``DiffResult.remote``),
    for ``push --expect``; a missing repository is an error that says so.
    ``unsafe``: also find the changes Argo CD cannot sync in place (``DiffResult.unsafe``,
    needs kustomize); True insists (no kustomize is an error), None checks when kustomize
    is there, False skips it.
    """
    import tempfile

    from bbgen.diff import diff_files, read_owned  # lazy
    from bbgen.render.build import build_tree  # lazy
    from bbgen.spec import load_platform  # lazy

    platform = load_platform(spec)
    files = build_tree(platform).with_manifest()
    if against is not None:
        if not against.is_dir():
            raise UsageError(message=f"{against}: no such directory")
        if at is not None:
            from bbgen.diff.committed import read_committed  # lazy

            old = read_committed(against, at, set(files))
        else:
            old = read_owned(against, set(files))
        return _with_unsafe(diff_files(files, old), files, old, unsafe, log)
    from bbgen.gitea import GiteaClient, usable_token  # lazy
    from bbgen.push import Git, fetch_branch  # lazy

    token = usable_token(token)
    target = _target(platform, url, owner, repo, branch)
    client = GiteaClient(target.url, token, ca_bundle=ca_bundle, timeout=timeout)
    if client.repo(target) is None:
        raise client.missing_repo(target, action="diff")
    with tempfile.TemporaryDirectory(prefix="bbgen-diff-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        step = f"fetch {target.owner}/{target.repo}@{target.branch}"
        if progress:
            progress(step, 0, 1)
        commit = fetch_branch(Git(token=token, ca_bundle=ca_bundle, log=log), target, target.branch, work)
        if progress:
            progress(step, 1, 1)
        old = read_owned(work, set(files))
        result = _with_unsafe(diff_files(files, old), files, old, unsafe, log)
    result.remote = {"repository": f"{target.owner}/{target.repo}", "branch": target.branch, "commit": commit}
    return result


def _with_unsafe(result: DiffResult, new: dict[str, bytes], old: dict[str, bytes], wanted: bool | None, log: Callable[[str], None] | None) -> DiffResult:
    """Attach the changes Argo CD cannot sync in place; without kustomize only an explicit request is an error."""
    from bbgen.diff.unsafe import check  # lazy
    from bbgen.validate.tools import find_tool  # lazy

    if wanted is False or (wanted is None and find_tool("kustomize") is None) or result.identical:
        result.unsafe = [] if result.identical else None
        return result
    report = check(new, old, log=log, strict=wanted is True)
    result.unsafe = [f.as_dict() for f in report.findings]
    result.unsafe_unbuilt = report.unbuilt
    return result


def push(
    spec: Path,
    *,
    token: str,
    create: bool = False,
    pr_branch: str | None = None,
    dry_run: bool = False,
    expect: str | None = None,
    author: str = "bbgen <bbgen@localhost>",
    url: str | None = None,
    owner: str | None = None,
    repo: str | None = None,
    branch: str | None = None,
    ca_bundle: str | None = None,
    timeout: float = 20.0,
    log: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> PushResult:
    """Render and commit to the Gitea branch (or a pull request); never force-pushes the target branch.

    ``expect``: the commit the caller last compared with (``diff --remote``);
    the push is refused (``StaleBranchError``, exit 1) if the branch moved since.
    """
    import re

    from bbgen.gitea import usable_token  # lazy
    from bbgen.push import push_tree  # lazy
    from bbgen.render.build import build_tree  # lazy
    from bbgen.spec import load_platform  # lazy

    token = usable_token(token)
    match = re.fullmatch(r"\s*([^<>]+?)\s*<([^<>\s]+@[^<>\s]+)>\s*", author)
    if not match:
        raise UsageError(message=f"--author {author!r} is not 'Name <email>'")
    platform = load_platform(spec)
    tree = build_tree(platform)
    from bbgen.secrets import guard  # lazy

    guard.check(tree, action="push")
    from bbgen.diff import diff_files, pull_text, read_owned  # lazy

    digest, files = _spec_digest(spec), tree.with_manifest()

    def describe(work: Path) -> tuple[str, str]:  # a pull request's reviewers see what cannot be synced in place too
        old = read_owned(work, set(files))
        return pull_text(platform.name, digest, _with_unsafe(diff_files(files, old), files, old, None, log))

    return push_tree(
        tree, platform_name=platform.name, spec_digest=digest,
        target=_target(platform, url, owner, repo, branch), token=token, create=create,
        pr_branch=pr_branch, dry_run=dry_run, expect=expect, author=(match.group(1), match.group(2)),
        ca_bundle=ca_bundle, timeout=timeout, describe=describe, log=log, progress=progress or nothing,
    )


def components(spec: Path | None = None) -> list[dict[str, Any]]:
    """The catalog as rows (with `enabled` when a spec is given)."""
    from bbgen.catalog import ChartComponent, GitComponent, load_catalog  # lazy
    from bbgen.spec.injected import component_injects  # lazy

    enabled: set[str] | None = None
    if spec is not None:
        from bbgen.spec import load_platform  # lazy

        platform = load_platform(spec)
        enabled = {n for n, c in platform.components.items() if c.enabled}
    rows = []
    for name, comp in sorted(load_catalog().items()):
        if isinstance(comp, ChartComponent):
            version = f"{comp.chart.name} {comp.chart.version}"
        elif isinstance(comp, GitComponent):
            version = f"{comp.git.repo.rstrip('/').rsplit('/', 1)[-1]}/{comp.git.path} {comp.git.revision}"
        else:
            version = f"{comp.image.repository}:{comp.image.tag}" if comp.image else "-"
        row: dict[str, Any] = {
            "name": name,
            "description": comp.description,
            "domain": comp.domain,
            "namespace": comp.namespace,
            "delivery": comp.delivery,
            "version": version,
            "host": comp.host,
            "dependsOn": list(comp.depends_on),
            "uses": list(comp.uses),
            "provides": list(comp.provides),
            "oidc": comp.oidc,
            "gpu": comp.gpu,
            "backup": comp.backup.method if comp.backup is not None else None,
            "settings": dict(comp.defaults.settings),
            # The env vars every app depending on it is given (its connection settings), so users know the names.
            "injects": component_injects(comp),
        }
        if enabled is not None:
            row["enabled"] = name in enabled
        rows.append(row)
    return rows


def secrets_plan(spec: Path, env: str | None = None) -> SecretsPlan:
    """Every Secret each environment (or only ``env``) needs, per namespace, and how each key is made."""
    from bbgen.render.inventory import plan_for  # lazy
    from bbgen.spec import load_platform  # lazy

    return plan_for(load_platform(spec), env)


def secrets_generate(
    spec: Path,
    out: Path,
    *,
    env: str | None = None,
    rotate: list[str] | None = None,
    from_files: list[str] | None = None,
    environ: Mapping[str, str] | None = None,
    ask: Callable[[str], str] | None = None,
) -> GenerateResult:
    """Write environment ``env``'s Secret manifests (default ``prod``) with strong values into ``out``.

    ``out`` is outside any GitOps tree and holds that one environment's Secrets:
    existing values are kept, and a directory of another environment is refused,
    so no value is shared between environments.
    """
    from bbgen.render.inventory import DEFAULT_ENV, inventory_for  # lazy
    from bbgen.secrets.generate import generate  # lazy
    from bbgen.spec import load_platform  # lazy

    inventory = inventory_for(load_platform(spec), env or DEFAULT_ENV)
    return generate(inventory, out, rotate=rotate, from_files=from_files, environ=environ, ask=ask)



def init(
    path: Path,
    *,
    profile: str = "minimal",
    name: str | None = None,
    domain: str | None = None,
    force: bool = False,
    schema_url: str | None = None,
) -> InitResult:
    """Write a starter spec from a shipped profile (comments kept) and `platform.schema.json` beside it."""
    from bbgen.starter import init as write_starter  # lazy

    return write_starter(path, profile=profile, name=name, domain=domain, force=force, schema_url=schema_url)


def spec_reference() -> str:
    """The spec's field reference as Markdown (docs/spec.md), made from the schema editors read so the two agree."""
    from bbgen.spec.docs import reference_markdown  # lazy

    return reference_markdown(json_schema())


def template_reference() -> str:
    """What catalog templates can read, as Markdown (docs/templates.md), made from the contract's types."""
    from bbgen.render.context_docs import templates_markdown  # lazy

    return templates_markdown()


def version_info() -> dict[str, Any]:
    """bbgen's version and the tool versions it pins (what `bbgen tools install` builds)."""
    from bbgen import __version__  # lazy
    from bbgen.kube.pins import PINNED  # lazy

    return {"version": __version__, "tools": {tool.name: tool.version for tool in PINNED}}


def tools_status(tools_dir: Path | None = None) -> list[ToolStatus]:
    """Each pinned tool beside the binary bbgen would run for it (``tools_dir``/bin first) and its version."""
    from bbgen.validate.install import status  # lazy

    return status(tools_dir)


def tools_install(tools_dir: Path | None = None, *, say: Callable[[str], None] | None = None) -> Path:
    """Build the pinned tools that are missing or outdated with `go install`; returns the bin directory."""
    from bbgen.validate.install import install  # lazy

    return install(tools_dir, say=say)
