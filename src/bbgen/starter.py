"""`bbgen init`: a shipped profile turned into the user's own starter spec.

The profiles are the best documentation of the spec there is: their comments say
why each choice was made. So the starter is the profile itself, edited with
ruamel.yaml's round-trip mode (comments, quoting and key order survive), not a
re-serialisation. It is loaded back with the same loader `bbgen render` uses
before anything is written, so `--name`/`--domain` can never leave an invalid
spec behind; both files are staged next to their targets and renamed into place.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bbgen.errors import SpecError, UsageError
from bbgen.spec.edit import round_trip_yaml, same_style

SCHEMA_FILE = "platform.schema.json"
MODELINE = "# yaml-language-server: $schema="
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s]+")


@dataclass(frozen=True, kw_only=True)
class InitResult:
    """What was written, for the command's status line."""

    spec: Path
    profile: str
    schema: Path | None  # None when the modeline points at a hosted schema (--schema-url)


def profiles() -> dict[str, Path]:
    """The shipped profiles by name (the wheel's copy or the checkout's profiles/)."""
    from bbgen.catalog import data_dir  # lazy: shell completion calls this

    return {p.stem: p for p in sorted(data_dir("profiles").glob("*.yaml"))}


def init(
    path: Path,
    *,
    profile: str = "minimal",
    name: str | None = None,
    domain: str | None = None,
    force: bool = False,
    schema_url: str | None = None,
) -> InitResult:
    """Write the starter spec (and the schema next to it) or raise before touching anything."""
    from bbgen.spec.schema import json_schema_text  # lazy: the models are not needed for completion

    shipped = profiles()
    if profile not in shipped:
        raise UsageError(message=f"--profile {profile!r}: no such profile", hint=f"available: {', '.join(shipped)}")
    if schema_url is not None and not _URL.fullmatch(schema_url):
        raise UsageError(message=f"--schema-url {schema_url!r} is not a URL", hint="e.g. https://example.org/platform.schema.json")
    if any(not ch.isprintable() for ch in str(path)):
        raise UsageError(message=f"{str(path)!r}: the path holds control characters")
    if path.name == SCHEMA_FILE:
        raise UsageError(message=f"{path}: that name is reserved for the schema bbgen writes next to the spec")
    if path.is_dir():
        raise UsageError(message=f"{path} is a directory", hint="pass the spec's file name, e.g. platform.yaml")
    if path.exists() and not force:
        raise UsageError(message=f"{path} exists; pass --force to overwrite")

    schema_path = None if schema_url else path.parent / SCHEMA_FILE
    schema_text = json_schema_text()
    if schema_path is not None:
        _check_schema_target(schema_path, force=force)

    shown = path.name if path.is_absolute() else str(path)
    text = starter_text(
        shipped[profile], profile=profile, name=name, domain=domain,
        schema_ref=schema_url or SCHEMA_FILE, shown=shown,
    )
    _load_back(text, shown=shown)

    files = {path: text}
    if schema_path is not None and not (schema_path.is_file() and schema_path.read_text(encoding="utf-8") == schema_text):
        files[schema_path] = schema_text
    _write_all(files)
    return InitResult(spec=path, profile=profile, schema=schema_path)


def starter_text(
    source: Path, *, profile: str, name: str | None, domain: str | None, schema_ref: str, shown: str,
) -> str:
    """The profile with the user's name/domain, a modeline on top and its render hint naming the user's file."""
    yaml = round_trip_yaml()
    data = yaml.load(source.read_text(encoding="utf-8"))
    if domain is not None:
        _rename_domain(data, str(data["domain"]), domain)
    if name is not None:
        _rename_platform(data, str(data["name"]), name)
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    lines = [line for line in buffer.getvalue().splitlines(keepends=True) if not line.startswith(MODELINE)]
    hint = re.compile(rf"bbgen render profiles/{re.escape(profile)}\.yaml\b")
    command = f"bbgen render {shlex.quote(shown)}"
    lines = [hint.sub(lambda _: command, line) if line.lstrip().startswith("#") else line for line in lines]
    return f"{MODELINE}{schema_ref}\n" + "".join(lines)


def _rename_domain(node: Any, old: str, new: str) -> None:
    """The profile's domain becomes the user's wherever a value names it (hosts, URLs, e-mail, images).

    Only values: keys such as label names are identifiers, and comments are prose.
    A placeholder left at `git.example.org` would point Argo CD at someone else's server.
    """
    pattern = re.compile(rf"(?<![A-Za-z0-9-]){re.escape(old)}(?![A-Za-z0-9-]|\.[A-Za-z0-9])")
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in list(items):
        if isinstance(value, str):
            changed = pattern.sub(lambda _: new, value)
            if changed != value:
                node[key] = same_style(value, changed)
        else:
            _rename_domain(value, old, new)


def _rename_platform(data: Any, old: str, new: str) -> None:
    """The name and what the profile derived from it: the SSO realm and the `<name>-gitops` repository."""
    data["name"] = new
    sso = data.get("sso")
    if isinstance(sso, dict) and sso.get("realm") == old:
        sso["realm"] = same_style(sso["realm"], new)
    gitops = data.get("gitops")
    if isinstance(gitops, dict) and isinstance(gitops.get("repo"), str) and gitops["repo"].startswith(f"{old}-"):
        gitops["repo"] = same_style(gitops["repo"], new + gitops["repo"][len(old):])


def _check_schema_target(schema_path: Path, *, force: bool) -> None:
    """Our own schema is regenerated content and replaced silently; anything else is the user's."""
    from bbgen.spec.schema import SCHEMA_ID  # lazy

    if not schema_path.exists() or force:
        if schema_path.is_dir():
            raise UsageError(message=f"{schema_path} is a directory")
        return
    try:
        existing = json.loads(schema_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        existing = None
    if not (isinstance(existing, dict) and existing.get("$id") == SCHEMA_ID):
        raise UsageError(message=f"{schema_path} exists and is not bbgen's schema; pass --force to overwrite")


def _load_back(text: str, *, shown: str) -> None:
    """The spec loader `render` uses, on the exact bytes about to be written; problems name the user's file."""
    from bbgen.spec import load_platform  # lazy

    with tempfile.TemporaryDirectory(prefix="bbgen-init-") as tmp:
        candidate = Path(tmp) / "platform.yaml"
        candidate.write_text(text, encoding="utf-8")
        try:
            load_platform(candidate)
        except SpecError as exc:
            issues = "\n".join(str(replace(i, file=shown)) for i in exc.issues)
            raise UsageError(message=f"the starter spec would be invalid, nothing written:\n{issues}") from None


def _write_all(files: dict[Path, str]) -> None:
    """Stage every file beside its target, then rename: a failure leaves no half-written file."""
    from bbgen.render.write import stage  # lazy

    for tmp_path, target in stage({target: text.encode("utf-8") for target, text in files.items()}):
        os.replace(tmp_path, target)
