"""Argo CD checks: Application source paths exist and build, AppProjects permit what apps deploy.

Argo CD rejects an Application at sync time when its project does not allow
the repository, the destination, or a resource kind; these mirror its rules
(glob patterns, ``!`` negation, the empty cluster whitelist denying every
cluster-scoped kind) so the rejection happens here, before a push.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbgen.validate.checks import ARGO, EnvView, finding
from bbgen.validate.discover import Layout, env_of, kustomization_file, rel_path
from bbgen.validate.findings import Finding
from bbgen.validate.resources import Resource, dicts, sub

# What Argo CD's built-in `default` project allows when the tree does not render one.
DEFAULT_PROJECT: dict[str, Any] = {
    "sourceRepos": ["*"],
    "destinations": [{"server": "*", "name": "*", "namespace": "*"}],
    "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
}


def _translate(pattern: str, sep: str | None) -> str:
    star = f"[^{re.escape(sep)}]*" if sep else ".*"
    one = f"[^{re.escape(sep)}]" if sep else "."
    out, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        if ch == "*":
            out += star
        elif ch == "?":
            out += one
        elif ch == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            out += "[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]"
            i = end
        elif ch == "{" and "}" in pattern[i + 1 :]:
            end = pattern.index("}", i + 1)
            out += "(?:" + "|".join(re.escape(a) for a in pattern[i + 1 : end].split(",")) + ")"
            i = end
        elif ch == "\\" and i + 1 < len(pattern):
            out, i = out + re.escape(pattern[i + 1]), i + 1
        else:
            out += re.escape(ch)
        i += 1
    return out


def glob_match(pattern: str, value: str, sep: str | None = None) -> bool:
    """Glob as Argo CD uses it: `*` (within a separator), `**`, `?`, `[...]`, `{a,b}`; `!` negates."""
    if pattern.startswith("!"):
        return not glob_match(pattern[1:], value, sep)
    if pattern == "*":
        return True
    return re.fullmatch(_translate(pattern, sep), value) is not None


def _deny(pattern: str) -> bool:
    return pattern.startswith("!")


def normalize_repo(url: str) -> str:
    return url.strip().lower().removesuffix("/").removesuffix(".git")


def repo_permitted(project: dict[str, Any], url: str) -> bool:
    patterns = [str(p) for p in project.get("sourceRepos") or []]
    want = normalize_repo(url)
    if any(_deny(p) and not glob_match(normalize_repo(p), want, "/") for p in patterns):
        return False
    return any(not _deny(p) and glob_match(normalize_repo(p), want, "/") for p in patterns)


def destination_permitted(project: dict[str, Any], server: str, name: str, namespace: str) -> bool:
    matched = False
    for item in dicts(project.get("destinations")):
        i_server, i_name, i_ns = (str(item.get(k) or "") for k in ("server", "name", "namespace"))
        name_ok = bool(name) and glob_match(i_name, name)
        server_ok = bool(server) and glob_match(i_server, server)
        ns_ok = glob_match(i_ns, namespace)
        if (server_ok or name_ok) and ns_ok:
            matched = True
        elif (not name_ok and _deny(i_name)) or (not server_ok and _deny(i_server)) or (not ns_ok and _deny(i_ns)):
            return False
    return matched


def _in_list(items: Any, group: str, kind: str, name: str) -> bool:
    for item in dicts(items):
        if glob_match(str(item.get("group", "")), group) and glob_match(str(item.get("kind", "")), kind):
            if not item.get("name") or glob_match(str(item["name"]), name):
                return True
    return False


def kind_permitted(project: dict[str, Any], res: Resource) -> bool:
    if res.namespaced:
        white = project.get("namespaceResourceWhitelist")
        allowed = white is None or _in_list(white, res.group, res.kind, res.name)
        return allowed and not _in_list(project.get("namespaceResourceBlacklist"), res.group, res.kind, res.name)
    allowed = _in_list(project.get("clusterResourceWhitelist"), res.group, res.kind, res.name)
    return allowed and not _in_list(project.get("clusterResourceBlacklist"), res.group, res.kind, res.name)


def sources(app: Resource) -> list[dict[str, Any]]:
    multi = dicts(app.spec.get("sources"))
    if multi:
        return multi
    single = app.spec.get("source")
    return [single] if isinstance(single, dict) else []


def _clean(path: str) -> str:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return "/".join(parts) or "."


def local_repos(apps: list[Resource], root: Path) -> set[str]:
    """This repository's URL(s): those whose source paths exist in the tree."""
    out: set[str] = set()
    for app in apps:
        for src in sources(app):
            if src.get("path") and src.get("repoURL") and (root / _clean(str(src["path"]))).is_dir():
                out.add(normalize_repo(str(src["repoURL"])))
    return out


def value_files(apps: list[Resource]) -> set[str]:
    """Tree paths Applications read as Helm values (`$ref/path`): data, not Kubernetes objects."""
    out: set[str] = set()
    for app in apps:
        for src in sources(app):
            entries = sub(src, "helm").get("valueFiles")
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, str) and entry.startswith("$") and "/" in entry:
                    out.add(_clean(entry.partition("/")[2]))
    return out


@dataclass(frozen=True, kw_only=True)
class AppTarget:
    """A local directory an Application deploys, with the Application that names it."""

    app: Resource
    path: str


def plan_targets(apps: list[Resource], layout: Layout, local: set[str]) -> tuple[list[AppTarget], list[Finding]]:
    """Resolve every Application source path and `$ref` values file against the tree.

    ``local`` holds this repository's URLs (see ``local_repos``); paths in other
    repositories cannot be checked and only draw a warning.
    """
    root = layout.root
    targets: list[AppTarget] = []
    out: list[Finding] = []
    for app in apps:
        srcs = sources(app)
        for src in srcs:
            repo = str(src.get("repoURL") or "")
            if src.get("path"):
                out += _path_problems(app, str(src["path"]), repo, local, layout, targets)
            value_files = sub(src, "helm").get("valueFiles")
            for value_file in value_files if isinstance(value_files, list) else []:
                out += _value_file_problems(app, str(value_file), srcs, local, root)
    return targets, out


def _is_local(repo: str, local: set[str]) -> bool:
    return not local or normalize_repo(repo) in local


def _path_problems(app: Resource, raw: str, repo: str, local: set[str], layout: Layout, targets: list[AppTarget]) -> list[Finding]:
    if not _is_local(repo, local):
        return [finding(app, "application-path", f"source path {raw} is in {repo}, not this repository; not checked", "warning")]
    target = layout.root / _clean(raw)
    rel = rel_path(layout.root, target)
    if rel is None:
        return [finding(app, "application-path", f"source path {raw} leaves the repository")]
    if not target.is_dir():
        return [finding(app, "application-path", f"source path {rel} does not exist in the tree")]
    if kustomization_file(target) is None:
        message = f"source path {rel} has no kustomization.yaml; bbgen renders every deployable path as a kustomization"
        return [finding(app, "application-path", message)]
    targets.append(AppTarget(app=app, path=rel))
    path_env = env_of(rel)
    if path_env and app.env and path_env != app.env:
        message = f"Application of environment {app.env} deploys {rel}, which belongs to environment {path_env}"
        return [finding(app, "application-path", message, "warning")]
    return []


def _value_file_problems(app: Resource, value_file: str, srcs: list[dict[str, Any]], local: set[str], root: Path) -> list[Finding]:
    if not value_file.startswith("$"):
        return []  # relative to the chart itself: not in this tree
    ref, _, rest = value_file[1:].partition("/")
    ref_src = next((s for s in srcs if s.get("ref") == ref), None)
    if ref_src is None:
        return [finding(app, "application-path", f"helm valueFile {value_file} uses ${ref}, but no source declares ref: {ref}")]
    if not _is_local(str(ref_src.get("repoURL") or ""), local):
        return []
    if not (root / _clean(rest)).is_file():
        return [finding(app, "application-path", f"helm valueFile {value_file}: {_clean(rest)} does not exist in the tree")]
    return []


def check_projects(view: EnvView, deployed: dict[tuple[str, str, str, str], list[Resource]]) -> list[Finding]:
    """Apps name a rendered AppProject that permits their repos, destination and every object they deploy."""
    projects = {p.name: p for p in view.of("AppProject", ARGO)}
    out: list[Finding] = []
    for app in view.of("Application", ARGO):
        pname = str(app.spec.get("project") or "default")
        proj = projects.get(pname)
        spec = proj.spec if proj is not None else (DEFAULT_PROJECT if pname == "default" else None)
        if spec is None:
            out.append(finding(app, "app-project", f"AppProject {pname!r} is not rendered in environment {view.env}"))
            continue
        for src in sources(app):
            repo = str(src.get("repoURL") or "")
            if repo and not repo_permitted(spec, repo):
                out.append(finding(app, "app-project", f"repoURL {repo} is not allowed by AppProject {pname!r} sourceRepos"))
        dest = sub(app.spec, "destination")
        server, dname, ns = (str(dest.get(k) or "") for k in ("server", "name", "namespace"))
        if not destination_permitted(spec, server, dname, ns):
            where = f"{server or dname}/{ns or '(no namespace)'}"
            out.append(finding(app, "app-project", f"destination {where} is not allowed by AppProject {pname!r} destinations"))
        for res in deployed.get(app.identity, []):
            by = f"(deployed by Application {app.name})"
            if not kind_permitted(spec, res):
                scope = "namespaced" if res.namespaced else "cluster-scoped"
                kind = f"{res.group or 'core'}/{res.kind}"
                out.append(finding(res, "app-project", f"{scope} kind {kind} is not permitted by AppProject {pname!r} {by}"))
            elif res.namespace and res.namespace != ns and not destination_permitted(spec, server, dname, res.namespace):
                message = f"namespace {res.namespace} is not an allowed destination of AppProject {pname!r} {by}"
                out.append(finding(res, "app-project", message))
    return out
