"""Options and output helpers shared by several commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

SpecArg = Annotated[
    Path,
    typer.Argument(help="Platform spec (YAML), e.g. profiles/betelgeuse.yaml.", show_default=False),
]
UrlOpt = Annotated[Optional[str], typer.Option("--url", help="Gitea base URL (default: the spec's gitops.url).")]
OwnerOpt = Annotated[Optional[str], typer.Option("--owner", help="Repository owner, user or organisation (default: gitops.owner).")]
RepoOpt = Annotated[Optional[str], typer.Option("--repo", help="Repository name (default: gitops.repo).")]
BranchOpt = Annotated[Optional[str], typer.Option("--branch", help="Branch Argo CD follows (default: gitops.branch).")]
TokenEnvOpt = Annotated[
    str,
    typer.Option("--token-env", help="Name of the environment variable holding the Gitea token (never pass the token itself)."),
]
CaBundleOpt = Annotated[Optional[Path], typer.Option("--ca-bundle", help="PEM bundle to trust for Gitea's TLS certificate.")]


def status(message: str) -> None:
    """Status and progress go to stderr; stdout is for data."""
    sys.stderr.write(message + "\n")


def token_from(env_name: str, *, required: bool = True) -> str:
    from bbgen.errors import UsageError

    token = os.environ.get(env_name, "")
    if required and not token:
        raise UsageError(message=f"environment variable {env_name} is empty or unset", hint="export a Gitea access token in it")
    return token
