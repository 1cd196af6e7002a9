"""The container's probes, files and volumes of a Score workload, as bbgen app fields (see :mod:`._score_map`).

Kept apart from the workload-level mapping only to keep each module readable; the same
rules hold: every value is located in the Score file, and what bbgen cannot honour is
refused at its line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bbgen.spec._positions import Path_, PosNode
from bbgen.spec._score_map import PLACEHOLDER, VOLUME, Mapper

if TYPE_CHECKING:
    from bbgen.spec.score_model import Container, Probe


def probes(m: Mapper, at: Path_, c: Container, ports: dict[int, tuple[str, int]]) -> None:
    """Score's two probes as bbgen's one check (both must agree when both are given)."""
    # bbgen probes one port: the routed one, else the first (a probe of another port would silently check the wrong one).
    routed = m.routed_port()
    probed = ports[routed][1] if routed in ports else next(iter(ports.values()))[1] if ports else None
    container_ports = {probed} if probed is not None else set()
    found: list[tuple[str, dict[str, Any]]] = []
    for key, given in (("livenessProbe", c.liveness_probe), ("readinessProbe", c.readiness_probe)):
        if given is not None and (converted := _check(m, (*at, key), given, container_ports)) is not None:
            found.append((key, converted))
    if not found:
        return
    if len(found) == 2 and found[0][1] != found[1][1]:
        m.fail((*at, "readinessProbe"), "bbgen checks readiness and liveness alike; make this probe equal livenessProbe")
    which, check = found[0]
    inner = "exec" if check["type"] == "exec" else "httpGet"
    node = m.node((*at, which))
    node.children = {k: m.node((*at, which, inner, k)) for k in check}
    m.put("probes", check, node)


def _check(m: Mapper, path: Path_, probe: Probe, ports: set[int]) -> dict[str, Any] | None:
    """One Score probe as a bbgen `probes` value (None: refused, reported)."""
    if probe.exec is not None:  # Score: prefer exec when both are given
        return {"type": "exec", "command": list(probe.exec.command)}
    http = probe.http_get
    if http is None:
        m.fail(path, "a probe needs httpGet or exec")
        return None
    at = (*path, "httpGet")
    for key, unsupported in (("host", http.host), ("httpHeaders", http.http_headers)):
        if unsupported:
            m.fail((*at, key), f"bbgen probes the pod itself without extra {key}; remove it", key_of=True)
    if http.scheme == "HTTPS":
        m.fail((*at, "scheme"), "bbgen probes over plain HTTP inside the pod")
    if ports and http.port not in ports:
        m.fail((*at, "port"), f"bbgen probes the app's routed (or first) port, {', '.join(str(p) for p in sorted(ports))}")
    return {"type": "http", "path": http.path}


def files(m: Mapper, at: Path_, c: Container) -> None:
    """`files` (target → content/source) as bbgen `files`; a source is read here, relative to the Score file."""
    if not c.files:
        return
    if isinstance(c.files, list):
        m.fail((*at, "files"), "the list form of files is deprecated in Score: write a mapping of target path to file")
        return
    listed: list[dict[str, Any]] = []
    children: dict[str | int, PosNode] = {}
    for target, f in c.files.items():
        path = (*at, "files", target)
        if f.binary_content is not None or f.target is not None:
            m.fail(path, "bbgen mounts text files: give `content` or `source`, not binaryContent or target", key_of=True)
            continue
        if (f.content is None) == (f.source is None):
            m.fail(path, "give exactly one of content or source", key_of=True)
            continue
        text = f.content if f.content is not None else _read_source(m, (*path, "source"), f.source or "")
        if text is None:
            continue
        item: dict[str, Any] = {"path": target, "content": text if f.no_expand else m.text(path, text)}
        if f.mode is not None:
            item["mode"] = f.mode.rjust(4, "0")
        children[len(listed)] = m.node(path, {"path": m.node(path), "content": m.node(path)})
        listed.append(item)
    if listed:
        m.put("files", listed, m.node((*at, "files"), children))


def _read_source(m: Mapper, path: Path_, source: str) -> str | None:
    file = m.score_dir / source
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        m.fail(path, f"{source} not found (relative to the Score file)")
    except (OSError, UnicodeDecodeError) as exc:
        m.fail(path, f"cannot read {source}: {getattr(exc, 'strerror', None) or exc}")
    return None


def volumes(m: Mapper, at: Path_, c: Container) -> None:
    """Mounts of `volume` resources as bbgen `volumes` (emptyDir, or persistent when the resource gives `size`)."""
    if not c.volumes:
        return
    if isinstance(c.volumes, list):
        m.fail((*at, "volumes"), "the list form of volumes is deprecated in Score: write a mapping of target path to volume")
        return
    listed: list[dict[str, Any]] = []
    children: dict[str | int, PosNode] = {}
    for target, v in c.volumes.items():
        path = (*at, "volumes", target)
        found = PLACEHOLDER.fullmatch(v.source)
        ref = found.group(2) if found is not None else None
        name = ref.split(".", 1)[1] if ref and ref.startswith("resources.") and ref.count(".") == 1 else None
        entry = m.workload.resources.get(name) if name else None
        if entry is None or entry.type != VOLUME:
            m.fail((*path, "source"), "must be ${resources.<name>} of a volume resource")
            continue
        if v.path is not None or v.read_only or v.target is not None:
            m.fail(path, "bbgen mounts a whole volume read-write: remove path, readOnly and target", key_of=True)
            continue
        item: dict[str, Any] = {"name": name, "path": target, "type": "persistent" if "size" in entry.params else "emptyDir"}
        if "size" in entry.params:
            item["size"] = entry.params["size"]
        if "medium" in entry.params:
            item["medium"] = entry.params["medium"]
        children[len(listed)] = m.node(path, {"name": m.node((*path, "source")), "path": m.node(path)})
        listed.append(item)
    if listed:
        m.put("volumes", listed, m.node((*at, "volumes"), children))
