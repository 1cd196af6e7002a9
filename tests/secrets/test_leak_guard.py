"""The leak guard: every seeded leak is refused and located, look-alikes and the reference pass."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Callable

import pytest

from bbgen import api
from bbgen.diff import DiffResult
from bbgen.errors import EXIT_FINDINGS, FindingsError
from bbgen.render.build import build_tree
from bbgen.render.tree import Tree
from bbgen.errors import LeakError
from bbgen.secrets import guard
from bbgen.secrets.detect import MASK, redact
from bbgen.spec import load_platform

from secretkit import Case, load_cases, tokens
from support import MINIMAL_SPEC, REFERENCE, ROOT

LEAKS = load_cases("leaks.yaml")
CLEAN = load_cases("clean.yaml")


@pytest.mark.parametrize("case", LEAKS, ids=[c.id for c in LEAKS])
def test_guard_catches_seeded_leak(case: Case) -> None:
    leaks = guard.scan_files({case.file: case.data})
    located = [
        leak for leak in leaks
        if leak.file == case.file and leak.resource == case.resource and leak.field == case.field and case.reason in leak.reason
    ]
    assert located, f"expected {case.file}: {case.resource}: {case.field}: ...{case.reason}...; got:\n" + "\n".join(map(str, leaks))


@pytest.mark.parametrize("case", LEAKS, ids=[c.id for c in LEAKS])
def test_refusal_names_the_field_but_never_the_value(case: Case) -> None:
    tree = Tree(files={case.file: case.data})
    with pytest.raises(LeakError) as caught:
        guard.check(tree, action="render")
    assert isinstance(caught.value, FindingsError) and caught.value.exit_code == EXIT_FINDINGS
    message = str(caught.value)
    assert case.field in message and case.file in message
    for line in case.secret.splitlines():
        if len(line) > 4 and "PRIVATE KEY" not in line:
            assert line not in message


@pytest.mark.parametrize("case", LEAKS, ids=[c.id for c in LEAKS])
def test_redact_masks_what_the_guard_flags(case: Case) -> None:
    masked = redact(case.data.decode())
    assert MASK in masked
    for line in case.secret.splitlines():
        if len(line) > 4 and "PRIVATE KEY" not in line:
            assert line not in masked, line


@pytest.mark.parametrize("case", CLEAN, ids=[c.id for c in CLEAN])
def test_look_alikes_pass(case: Case) -> None:
    assert [str(leak) for leak in guard.scan_files({case.file: case.data})] == []
    assert redact(case.data.decode()) == case.data.decode()


def test_reference_render_and_output_example_are_clean() -> None:
    assert guard.scan_tree(build_tree(load_platform(REFERENCE))) == []
    assert guard.scan_directory(ROOT / "output-example") == []
    assert guard.scan_directory(ROOT / "templates") == []


def test_redact_leaves_ordinary_diff_lines_alone() -> None:
    text = (ROOT / "output-example" / "components" / "orchestrator" / "base" / "deployment-orchestrator.yaml").read_text()
    assert redact(text) == text


def _leaky_spec(write: Callable[[str], Path]) -> tuple[Path, str]:
    token = tokens()["GHP"]
    spec = write(
        MINIMAL_SPEC
        + "apps:\n  api:\n    image: registry.example.org/demo/api:1\n    env:\n"
        + f"      - {{name: LOG_LEVEL, value: info}}\n      - {{name: SYNC_CREDENTIAL, value: {token}}}\n"
    )
    return spec, token


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    def _write(text: str) -> Path:
        path = tmp_path / "platform.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def test_render_refuses_and_writes_nothing(tmp_path: Path, write: Callable[[str], Path]) -> None:
    spec, token = _leaky_spec(write)
    out = tmp_path / "out"
    with pytest.raises(LeakError) as caught:
        api.render(spec, out)
    assert not out.exists()
    message = str(caught.value)
    assert "components/api/base/deployment-api.yaml: Deployment/apps/api: spec.template.spec.containers[0].env[1].value: looks like a GitHub token" in message
    assert token not in message


def test_render_cli_exits_1(tmp_path: Path, write: Callable[[str], Path]) -> None:
    import os
    import subprocess
    import sys

    spec, token = _leaky_spec(write)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-m", "bbgen", "render", str(spec), "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1
    assert "looks like a GitHub token" in done.stderr and token not in done.stderr + done.stdout
    assert not (tmp_path / "out").exists()


def test_push_refuses_before_contacting_gitea(write: Callable[[str], Path]) -> None:
    spec, _ = _leaky_spec(write)
    with pytest.raises(LeakError, match="refusing to push"):
        api.push(spec, token="unused", url="https://127.0.0.1:9", dry_run=True)


@pytest.mark.tools
def test_validate_reports_leaks_as_findings(tools: dict[str, str], tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "output-example", tree)
    case = next(c for c in LEAKS if c.id == "github-classic-token-in-deployment-env")
    target = tree / case.file
    target.write_bytes(target.read_bytes().replace(b"value: info", b"value: " + tokens()["GHP"].encode()))
    report = api.validate(tree)
    found = [f for f in report.findings if f.check == "leak-guard"]
    assert [(f.file, f.resource, f.severity) for f in found] == [(case.file, "Deployment/hadith/orchestrator", "error")]
    assert found[0].message.endswith("looks like a GitHub token")
    assert not report.ok


def test_diff_output_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    from bbgen.commands.diff import _print

    token = tokens()["GHP"]
    result = DiffResult(changed_files=["a.yaml"], patches={"a.yaml": ["--- a/a.yaml", "+++ b/a.yaml", f"+  value: {token}", "-  value: info"]})
    _print(result, stat=False, colour=False)
    out = capsys.readouterr().out
    assert token not in out and f"+  value: {MASK}" in out and "-  value: info" in out


def test_redact_is_identity_without_hits() -> None:
    text = "image: docker.io/library/postgres:18.4\nhost: vector.betelgeusebytes.io\nstorage: 100Gi\n"
    assert redact(text) == text
    assert redact(io.StringIO(text).read()) == text


def _hex(n: int, seed: int) -> str:
    import random

    rng = random.Random(seed)
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _deployment(env: list[dict[str, str]]) -> bytes:
    from secretkit import dump

    return dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "apps"},
        "spec": {"template": {"spec": {"containers": [{"name": "api", "image": "registry.example.org/api:1", "env": env}]}}},
    })


@pytest.mark.parametrize(
    ("file", "make", "reason"),
    [
        ("components/api/base/deployment-api.yaml", lambda h40, h64: _deployment([{"name": "UPSTREAM", "value": h40}]), "40-hex token"),
        ("components/api/base/deployment-api.yaml", lambda h40, h64: _deployment([{"name": "SETTINGS_B", "value": h64}]), "64-hex secret"),
        ("values/api/prod.yaml", lambda h40, h64: f"extra:\n  sync: {h40}\n".encode(), "40-hex token"),
        ("values/api/prod.yaml", lambda h40, h64: f"server:\n  cookie: {h64}\n".encode(), "64-hex secret"),
        (
            "components/api/base/configmap-api.yaml",
            lambda h40, h64: (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: apps}\n"
                f"data:\n  app.ini: \"[server]\\nLFS_START = {h64}\\n\"\n"
            ).encode(),
            "64-hex secret",
        ),
    ],
    ids=["env-40", "env-64", "values-40", "values-64", "configmap-64"],
)
def test_bare_hex_under_innocent_names_is_caught(file: str, make: Callable[[str, str], bytes], reason: str) -> None:
    """A Gitea token (40 hex) or a 256-bit key (64 hex) needs no telling name to be a secret (issue 19)."""
    h40, h64 = _hex(40, 1), _hex(64, 2)
    data = make(h40, h64)
    leaks = guard.scan_files({file: data})
    assert any(reason in leak.reason and leak.file == file for leak in leaks), leaks
    message = "\n".join(map(str, leaks))
    assert h40 not in message and h64 not in message
    masked = redact(data.decode())
    assert h40 not in masked and h64 not in masked


def test_digests_commits_and_checksums_stay_clean() -> None:
    """The look-alikes of bare hex: image digests, commit ids, checksum annotations, under their usual names."""
    h40, h64 = _hex(40, 3), _hex(64, 4)
    files = {
        "components/api/base/deployment-api.yaml": _deployment([
            {"name": "GIT_COMMIT", "value": h40}, {"name": "BUILD_SHA", "value": h40}, {"name": "IMAGE_DIGEST", "value": f"sha256:{h64}"},
        ]),
        "values/api/prod.yaml": (
            f"image: {{repository: r.example.org/api, digest: 'sha256:{h64}'}}\npodAnnotations: {{checksum/config: {h64}}}\n"
            f"source: {{targetRevision: {h40}}}\nsidecar: 'r.example.org/side@sha256:{h64}'\ngitRevision: {h40}\n"
        ).encode(),
        "apps/prod/api.yaml": f"spec:\n  source: {{targetRevision: {h40}}}\n".encode(),
        "components/api/base/configmap-api.yaml": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: apps}\n"
            f"data:\n  build.txt: \"commit {h40}\\nsha256 {h64}\\n\"\n"
        ).encode(),
    }
    assert [str(leak) for leak in guard.scan_files(files)] == []
    for data in files.values():
        assert redact(data.decode()) == data.decode()
