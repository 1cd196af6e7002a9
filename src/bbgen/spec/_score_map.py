"""How each part of a Score workload becomes a field of a bbgen app, located in the Score file.

Every value produced here carries a position node pointing at the Score text it came
from (:attr:`PosNode.file` and :attr:`PosNode.source`), so the spec's validation and
checks report a problem in it at the Score file's line and with the Score path. What
bbgen cannot honour (a second container, a resource type the catalog cannot provide,
an HTTPS probe, ...) is refused here, at the line that asks for it, rather than
dropped: an ignored line of a workload file is a surprise in production.

Placeholders follow Score: ``${metadata.name}``, ``${resources.<name>.<output>}``,
and ``$$`` for a literal ``$``. A resource output is the connection variable bbgen
injects for that dependency (the catalog's ``score.outputs`` say which); a value that
is only that placeholder under the same name is left to bbgen's own injection, any
other use becomes a ``$(VAR)`` reference the kubelet expands (``expand: true``), so a
password stays a Secret reference and never lands in git.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bbgen.errors import SpecIssue
from bbgen.spec._messages import issue_at
from bbgen.spec._positions import LoadedYaml, Path_, PosNode

if TYPE_CHECKING:
    from bbgen.catalog import AnyComponent
    from bbgen.spec.score_model import Container, Workload

# Score resource types bbgen satisfies itself, beside the catalog's (`score.type` of a component).
ROUTE, DNS, VOLUME = "route", "dns", "volume"
PLACEHOLDER = re.compile(r"\$(\$|\{([^}]*)\})")


class _Unresolved(Exception):
    """A placeholder bbgen cannot fill where it is written."""


class _Reported(_Unresolved):
    """A placeholder of a resource already refused at its `type`: not reported again at each use."""


@dataclass
class Mapper:
    """Turns one validated Score workload into app fields (data and positions), collecting located issues."""

    app: str
    workload: Workload
    score: LoadedYaml
    score_dir: Path
    catalog: dict[str, AnyComponent]
    issues: list[SpecIssue] = field(default_factory=list)
    image_is_local: bool = False
    image_path: Path_ = ()
    _data: dict[str, Any] = field(default_factory=dict)
    _pos: dict[str, PosNode] = field(default_factory=dict)
    _deps: dict[str, str] = field(default_factory=dict)  # Score resource name -> dependsOn entry

    # --- positions and issues ------------------------------------------------------------------------

    def error(self, path: Path_, message: str, *, key_of: bool = False) -> SpecIssue:
        pos = (self.score.positions.key(path) if key_of else None) or self.score.positions.locate(path)
        return issue_at(self.score.file, pos, path, message)

    def fail(self, path: Path_, message: str, *, key_of: bool = False) -> None:
        self.issues.append(self.error(path, message, key_of=key_of))

    def node(self, path: Path_, children: dict[str | int, PosNode] | None = None) -> PosNode:
        """A position node for a value taken from ``path`` of the Score file."""
        positions = self.score.positions
        return PosNode(key=positions.key(path), value=positions.value(path) or positions.locate(path),
                       children=children or {}, source=path, file=self.score.file)

    def copied(self, path: Path_) -> PosNode:
        """The Score subtree at ``path`` as it is (same shape), located there."""
        def walk(node: PosNode | None, at: Path_) -> PosNode:
            out = self.node(at)
            if node is not None:
                out.children = {k: walk(child, (*at, k)) for k, child in node.children.items()}
            return out
        found: PosNode | None = self.score.positions.root
        for seg in path:
            found = found.children.get(seg) if found is not None else None
        return walk(found, path)

    def put(self, key: str, value: Any, pos: PosNode) -> None:
        self._data[key] = value
        self._pos[key] = pos

    # --- the whole workload ----------------------------------------------------------------------------

    def run(self) -> tuple[dict[str, Any], dict[str, PosNode], dict[str, tuple[Any, PosNode]]]:
        """The app fields the Score file gives, their positions, and defaults that apply when the spec is silent."""
        w = self.workload
        if w.metadata.name != self.app:
            self.fail(("metadata", "name"), (
                f"{w.metadata.name!r} differs from the app's name {self.app!r} in the spec; bbgen names every object "
                "after the app, so make them equal (another Score tool would name them after metadata.name)"
            ))
        names = list(w.containers)
        if len(names) > 1:
            self.fail(("containers", names[1]), (
                f"a bbgen app runs one container, this workload has {len(names)} ({', '.join(names)}); "
                "split it into one Score file per app"
            ), key_of=True)
        defaults: dict[str, tuple[Any, PosNode]] = {}
        ports = self.service_ports()
        self.resources()
        self.container(names[0], w.containers[names[0]], ports)
        if not w.service or not w.service.ports:
            defaults["kind"] = ("worker", self.node(("containers",)))
        if "probes" not in self._data:
            defaults["probes"] = ({"type": "none"}, self.node(("containers", names[0])))
        if self._deps:
            deps = sorted(set(self._deps.values()))
            first = {dep: res for res, dep in reversed(list(self._deps.items()))}
            self.put("dependsOn", deps, self.node(("resources",), {
                i: self.node(("resources", first[dep], "type")) for i, dep in enumerate(deps)
            }))
        return self._data, self._pos, defaults

    def service_ports(self) -> dict[int, tuple[str, int]]:
        """`service.ports` as bbgen's `port` (one) or `ports`; service port number -> (name, container port)."""
        service = self.workload.service
        if service is None or not service.ports:
            return {}
        out: dict[int, tuple[str, int]] = {}
        for name, entry in service.ports.items():
            out[entry.port] = (name, entry.target_port or entry.port)
        items = list(service.ports.items())
        if len(items) == 1 and items[0][1].protocol == "TCP":
            name, entry = items[0]
            path: Path_ = ("service", "ports", name, "targetPort" if entry.target_port else "port")
            self.put("port", entry.target_port or entry.port, self.node(path))
        else:
            routed = self.routed_port()
            listed: list[dict[str, Any]] = []
            children: dict[str | int, PosNode] = {}
            for index, (name, entry) in enumerate(items):
                item: dict[str, Any] = {"name": name, "port": entry.target_port or entry.port}
                if entry.protocol != "TCP":
                    item["protocol"] = entry.protocol
                if routed == entry.port:
                    item["route"] = True
                listed.append(item)
                children[index] = self.node(("service", "ports", name), {
                    "name": self.node(("service", "ports", name)), "port": self.node(("service", "ports", name, "port")),
                })
            self.put("ports", listed, self.node(("service", "ports"), children))
        return out

    def routed_port(self) -> int | None:
        for entry in self.workload.resources.values():
            if entry.type == ROUTE and isinstance(entry.params.get("port"), int):
                return int(entry.params["port"])
        return None

    # --- resources ---------------------------------------------------------------------------------------

    def providers(self, kind: str) -> list[str]:
        """Catalog components whose `score.type` is ``kind``, by name."""
        return sorted(n for n, c in self.catalog.items() if c.score is not None and c.score.type == kind)

    def dependency(self, kind: str) -> str | None:
        """What `dependsOn` names for a Score type: its one provider, or the role all its providers fill."""
        found = self.providers(kind)
        if len(found) == 1:
            return found[0]
        if not found:
            return None
        roles = set.intersection(*(set(self.catalog[n].provides) for n in found))
        return sorted(roles)[0] if roles else found[0]

    def supported(self) -> list[str]:
        return sorted({c.score.type for c in self.catalog.values() if c.score is not None} | {ROUTE, DNS, VOLUME})

    def resources(self) -> None:
        """Typed resources: catalog types become `dependsOn`, `route` the host, `dns` its name, `volume` a volume."""
        routes = 0
        seen: dict[str, str] = {}
        for name, entry in self.workload.resources.items():
            at = ("resources", name)
            if entry.class_ is not None:
                self.fail((*at, "class"), "bbgen has one implementation of each type; remove `class`")
            if entry.type == ROUTE:
                routes += 1
                if routes > 1:
                    self.fail((*at, "type"), "an app has one public host, so one route")
                    continue
                self.route(name)
            elif entry.type in (DNS, VOLUME):
                unknown = sorted(set(entry.params) - ({"size", "medium"} if entry.type == VOLUME else set()))
                if unknown:
                    self.fail((*at, "params", unknown[0]), f"bbgen takes no {unknown[0]!r} for a {entry.type} resource")
            elif (dep := self.dependency(entry.type)) is not None:
                if entry.type in seen:
                    self.fail((*at, "type"), (
                        f"resource {seen[entry.type]!r} already asks for {entry.type}; an app gets one of each "
                        f"dependency ({dep}), so use that one's outputs"
                    ))
                    continue
                seen[entry.type] = name
                if entry.params:
                    self.fail((*at, "params"), f"bbgen takes no params for {entry.type} (the platform sizes {dep})")
                self._deps[name] = dep
            else:
                self.fail((*at, "type"), (
                    f"bbgen cannot provide a resource of type {entry.type!r}; types it can: {', '.join(self.supported())}"
                ))

    def route(self, name: str) -> None:
        """A `route` resource: its host is the app's `host`; its port must be a service port, its path `/`."""
        entry = self.workload.resources[name]
        at = ("resources", name, "params")
        params = entry.params
        for key in sorted(set(params) - {"host", "path", "port"}):
            self.fail((*at, key), f"bbgen's routes take host, path and port, not {key!r}", key_of=True)
        if params.get("path", "/") != "/":
            self.fail((*at, "path"), "bbgen routes the whole host: the path must be `/`")
        ports = {p.port for p in (self.workload.service.ports.values() if self.workload.service else [])}
        port = params.get("port")
        if port not in ports:
            shown = ", ".join(str(p) for p in sorted(ports)) or "none"
            self.fail((*at, "port") if "port" in params else at, f"must be one of the service ports ({shown})")
        host = params.get("host")
        if not isinstance(host, str) or not host:
            self.fail(at if host is None else (*at, "host"), "a route needs `host` (a name, or ${resources.<dns>.host})")
            return
        found = PLACEHOLDER.fullmatch(host)
        if found is not None and found.group(2) is not None:
            parts = found.group(2).split(".")
            dns = self.workload.resources.get(parts[1]) if len(parts) == 3 and parts[0] == "resources" else None
            if dns is None or dns.type != DNS or parts[2] != "host":
                self.fail((*at, "host"), "the host must be a name or ${resources.<name>.host} of a dns resource")
                return
            # A dns resource asks the platform for a name: the app's name, under each environment's domain.
            self.put("host", self.app, self.node((*at, "host")))
        elif "$" in host:
            self.fail((*at, "host"), "the host must be a name or ${resources.<name>.host} of a dns resource")
        else:
            self.put("host", host, self.node((*at, "host")))

    # --- the container -------------------------------------------------------------------------------

    def container(self, cname: str, c: Container, ports: dict[int, tuple[str, int]]) -> None:
        at: Path_ = ("containers", cname)
        self.image_path = (*at, "image")
        if c.image == ".":
            self.image_is_local = True
        else:
            self.put("image", c.image, self.node((*at, "image")))
        for key in ("command", "args"):
            values = getattr(c, key)
            if values is None:
                continue
            out = [self.text((*at, key, i), v) for i, v in enumerate(values)]
            self.put(key, out, self.copied((*at, key)))
        if c.before:
            self.fail((*at, "before"), "a bbgen app runs one container, so nothing can start before it", key_of=True)
        if c.resources is not None:
            self.put("resources", c.resources.model_dump(exclude_none=True), self.copied((*at, "resources")))
        self.variables(at, c)
        from bbgen.spec._score_container import files, probes, volumes

        probes(self, at, c, ports)
        files(self, at, c)
        volumes(self, at, c)

    def variables(self, at: Path_, c: Container) -> None:
        env: list[dict[str, Any]] = []
        children: dict[str | int, PosNode] = {}
        for name, value in c.variables.items():
            path = (*at, "variables", name)
            item = self.variable(path, name, value)
            if item is None:
                continue
            children[len(env)] = self.node(path, {
                "name": PosNode(value=self.score.positions.key(path), source=path, file=self.score.file),
                "value": self.node(path),
            })
            env.append(item)
        if env:
            self.put("env", env, self.node((*at, "variables"), children))

    def variable(self, path: Path_, name: str, value: str) -> dict[str, Any] | None:
        """One variable as an `env` entry (None: bbgen injects exactly that already)."""
        whole = PLACEHOLDER.fullmatch(value)
        if whole is not None and whole.group(2) is not None:
            try:
                target = self.output(whole.group(2))
            except _Unresolved:
                target = None
            if target == name:
                return None
        pieces: list[str] = []
        expand = False
        last = 0
        for found in PLACEHOLDER.finditer(value):
            pieces.append(value[last:found.start()].replace("$", "$$"))
            last = found.end()
            if found.group(2) is None:
                pieces.append("$$")
                continue
            try:
                ref = found.group(2)
                if ref.startswith("resources."):
                    pieces.append(f"$({self.output(ref)})")
                    expand = True
                else:
                    pieces.append(self.metadata(ref).replace("$", "$$"))
            except _Unresolved as why:
                if not isinstance(why, _Reported):
                    self.fail(path, f"${{{found.group(2)}}}: {why}")
                return None
        pieces.append(value[last:].replace("$", "$$"))
        text = "".join(pieces)
        if not expand:  # a literal: bbgen escapes `$` itself
            return {"name": name, "value": text.replace("$$", "$")}
        return {"name": name, "value": text, "expand": True}

    def text(self, path: Path_, value: str) -> str:
        """``value`` with `${metadata.name}` filled and `$$` unescaped (resource outputs only reach variables)."""
        def fill(found: re.Match[str]) -> str:
            if found.group(2) is None:
                return "$"
            try:
                return self.metadata(found.group(2))
            except _Unresolved as why:
                self.fail(path, f"${{{found.group(2)}}}: {why}")
                return found.group(0)
        return PLACEHOLDER.sub(fill, value)

    def metadata(self, ref: str) -> str:
        if ref == "metadata.name":
            return self.app
        if ref.startswith("resources."):
            raise _Unresolved("bbgen passes resource outputs to the container as variables only (use `variables`)")
        raise _Unresolved("bbgen fills ${metadata.name} and ${resources.<name>.<output>} only")

    def output(self, ref: str) -> str:
        """The injected variable holding ``resources.<name>.<output>``."""
        parts = ref.split(".")
        if len(parts) != 3 or parts[0] != "resources":
            raise _Unresolved("a resource output is written ${resources.<name>.<output>}")
        entry = self.workload.resources.get(parts[1])
        if entry is None:
            raise _Unresolved(f"no resource {parts[1]!r} (resources: {', '.join(self.workload.resources) or 'none'})")
        providers = self.providers(entry.type)
        if not providers:
            if entry.type not in self.supported():
                raise _Reported("already refused at its type")
            raise _Unresolved(f"a {entry.type} resource has no outputs bbgen can pass as a variable")
        outputs = [self.catalog[p].score.outputs for p in providers]  # type: ignore[union-attr]
        names = {o.get(parts[2]) for o in outputs}
        if len(names) != 1 or None in names:
            known = sorted(set.intersection(*(set(o) for o in outputs)))
            raise _Unresolved(f"{entry.type} has no output {parts[2]!r}; its outputs: {', '.join(known)}")
        return str(names.pop())
