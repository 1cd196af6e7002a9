"""The CLI as a person at a terminal meets it: progress, -q/-v, completion, --help examples.

Progress is checked under a real pseudo-terminal (the `pty` module): it must
show there, and must not show in a pipe (CI logs) or with --quiet.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT, bbgen, on_terminal

MINIMAL = ROOT / "profiles" / "minimal.yaml"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TERM": "xterm", "COLUMNS": "120"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("term") / "gitops"
    done = bbgen("render", str(MINIMAL), "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.tools
def test_progress_shows_on_a_terminal_only(tools: dict[str, str], rendered: Path) -> None:
    code, stdout, shown = on_terminal("validate", str(rendered))
    assert code == 0, shown
    assert "kustomize build" in shown and re.search(r"\d+/14", shown), shown
    assert "kubeconform (" in shown
    assert "built 14 kustomizations" in shown
    assert "kustomize build" not in stdout

    piped = bbgen("validate", str(rendered))
    assert piped.returncode == 0
    assert "kustomize build" not in piped.stderr and "/14" not in piped.stderr
    assert piped.stderr.startswith("built 14 kustomizations")


@pytest.mark.tools
def test_quiet_silences_progress_and_status(tools: dict[str, str], rendered: Path) -> None:
    code, stdout, shown = on_terminal("validate", str(rendered), "--quiet")
    assert code == 0
    assert shown.strip() == ""
    assert stdout.startswith("warning: ")  # data still goes to stdout


@pytest.mark.tools
def test_verbose_shows_the_underlying_commands(tools: dict[str, str], rendered: Path) -> None:
    done = bbgen("validate", str(rendered), "-v")
    assert done.returncode == 0
    lines = done.stderr.splitlines()
    builds = [line for line in lines if re.match(r"\$ \S*kustomize build \S+", line)]
    assert len(builds) == 14
    assert any(re.match(r"\$ \S*kubeconform -strict ", line) for line in lines)
    code, _, shown = on_terminal("validate", str(rendered), "-v", "-q")
    assert code == 0 and "$ " in shown and "built 14" not in shown  # -v wins for commands, -q for status


def test_diff_and_render_quiet(rendered: Path) -> None:
    same = bbgen("diff", str(MINIMAL), "--against", str(rendered))
    assert same.returncode == 0 and same.stderr.strip() == "no changes"
    assert bbgen("diff", str(MINIMAL), "--against", str(rendered), "-q").stderr == ""
    assert bbgen("render", str(MINIMAL), "--out", str(rendered), "-q").stderr == ""


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_completes_commands_and_choices(tmp_path: Path) -> None:
    """Install typer's completion script into a real bash and ask it, the way Tab does."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "bbgen"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m bbgen "$@"\n', encoding="utf-8")
    launcher.chmod(0o755)
    script = subprocess.run([str(launcher), "--show-completion", "bash"], capture_output=True, text=True, env=_env(), timeout=60)
    assert script.returncode == 0 and "complete " in script.stdout

    def complete(*words: str) -> list[str]:
        words_text = " ".join(f"'{w}'" for w in words)
        probe = f'{script.stdout}\nCOMP_WORDS=({words_text}); COMP_CWORD={len(words) - 1}; _bbgen_completion bbgen; printf "%s\\n" "${{COMPREPLY[@]}}"\n'
        env = {**_env(), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
        done = subprocess.run(["bash", "--norc", "--noprofile", "-c", probe], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return [line for line in done.stdout.splitlines() if line]

    assert complete("bbgen", "va") == ["validate"]
    assert {"init", "render", "validate", "diff", "push-to-gitea", "components", "schema"} <= set(complete("bbgen", ""))
    assert complete("bbgen", "validate", "--output", "") == ["text", "json", "junit"]
    assert complete("bbgen", "diff", "x.yaml", "--out") == ["--output"]
    assert complete("bbgen", "init", "--profile", "") == ["betelgeuse", "gpu", "minimal", "multi-env"]


def _commands() -> list[list[str]]:
    from bbgen.cli import app

    import typer.main

    group = typer.main.get_command(app)
    names: list[list[str]] = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        names.extend([[name, s] for s in sub] if sub else [[name]])
    return names


def test_every_command_has_help_with_an_example() -> None:
    commands = _commands()
    assert ["init"] in commands and ["secrets", "plan"] in commands and len(commands) >= 10
    for words in commands:
        done = bbgen(*words, "--help")
        assert done.returncode == 0, words
        assert re.search(r"^\s+(?:\S+=\S+ )*bbgen " + re.escape(words[0]) + r"\b", done.stdout, re.M), (words, done.stdout)
        assert "Example" in done.stdout, words
