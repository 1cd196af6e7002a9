"""Schema-validate every object with kubeconform, offline, and map results back.

Each object is written to its own file under a directory named after the build
(or plain file) it came from, so a result's ``filename`` identifies exactly one
object; kubeconform's JSON output has kind and name but not the namespace.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbgen.validate.findings import Finding
from bbgen.errors import ToolFailedError
from bbgen.validate.tools import CONFORM_TIMEOUT, Log, run

_CAUSE = re.compile(r"- at '([^']*)': (.*?)(?=\s+- at '|$)")


@dataclass(frozen=True, kw_only=True)
class ConformDoc:
    """One object to validate: its raw YAML, where findings go, and how to name it."""

    text: str
    origin: str  # build dir or plain file, relative to the tree root
    ref: str  # Kind/ns/name


def _slug(origin: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "__", origin.strip("/")) or "root"
    return cleaned[:120]


def _causes(msg: str) -> list[str]:
    """Leaf errors out of kubeconform's one-line message; parents only say 'validation failed'."""
    found = [(path, text.strip()) for path, text in _CAUSE.findall(msg)]
    leaves = [(p, t) for p, t in found if t != "validation failed"] or found
    return [f"{p or '/'}: {t}" for p, t in leaves]


def _finding(unit: ConformDoc, entry: dict[str, Any]) -> list[Finding]:
    status = entry.get("status")
    msg = str(entry.get("msg") or "")
    if status == "statusInvalid":
        messages = _causes(msg) or [
            f"{e.get('path') or '/'}: {e.get('msg')}" for e in entry.get("validationErrors") or [] if isinstance(e, dict)
        ] or [msg or "does not match its schema"]
    elif msg.startswith("could not find schema for"):
        kind = entry.get("kind") or "?"
        messages = [
            f"no schema for {entry.get('version') or '?'} {kind}: kubeconform cannot check it "
            "(a built-in kind not in this Kubernetes version, or a custom kind bbgen has no "
            "schema for under bbgen/kube/crds/)"
        ]
    else:
        messages = [msg or f"kubeconform reported {status}"]
    return [Finding(check="kubeconform", file=unit.origin, resource=unit.ref, message=m) for m in messages]


def validate(
    units: Sequence[ConformDoc],
    *,
    binary: Path,
    schema_locations: Sequence[str],
    log: Log | None = None,
) -> list[Finding]:
    """Run kubeconform once over every object; schema and parse failures become findings."""
    if not units:
        return []
    with tempfile.TemporaryDirectory(prefix="bbgen-kubeconform-") as tmp:
        base = Path(tmp)
        by_file: dict[str, ConformDoc] = {}
        dir_names: dict[str, str] = {}
        counters: dict[str, int] = {}
        for unit in units:
            if unit.origin not in dir_names:
                dir_names[unit.origin] = f"{len(dir_names):03d}-{_slug(unit.origin)}"
                (base / dir_names[unit.origin]).mkdir()
            index = counters.get(unit.origin, 0)
            counters[unit.origin] = index + 1
            path = base / dir_names[unit.origin] / f"{index:04d}.yaml"
            path.write_text(unit.text, encoding="utf-8")
            by_file[path.relative_to(base).as_posix()] = unit
        argv: list[str | Path] = [binary, "-strict", "-summary", "-output", "json", "-n", "2"]
        for location in schema_locations:
            argv += ["-schema-location", location]
        argv.append(base)
        done = run(argv, timeout=CONFORM_TIMEOUT, log=log)
        if done.timed_out:
            raise ToolFailedError(tool="kubeconform", message=done.stderr)
        try:
            payload = json.loads(done.stdout)
            entries = payload["resources"]
        except (ValueError, KeyError, TypeError):
            detail = (done.stderr or done.stdout).strip()[:2000]
            raise ToolFailedError(tool="kubeconform", message=f"exit {done.returncode}: {detail}") from None
        findings: list[Finding] = []
        for entry in entries or []:
            if not isinstance(entry, dict) or entry.get("status") not in ("statusInvalid", "statusError"):
                continue
            filename = Path(str(entry.get("filename", "")))
            try:
                key = filename.resolve().relative_to(base.resolve()).as_posix()
            except ValueError:
                key = filename.as_posix()
            unit = by_file.get(key) or ConformDoc(text="", origin=key, ref=f"{entry.get('kind') or ''}/{entry.get('name') or ''}".strip("/"))
            findings.extend(_finding(unit, entry))
        if done.returncode not in (0, 1):
            raise ToolFailedError(tool="kubeconform", message=f"exit {done.returncode}: {done.stderr.strip()[:2000]}")
        return findings
