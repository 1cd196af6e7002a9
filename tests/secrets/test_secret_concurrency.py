"""Two `bbgen secrets generate` runs at once, and a run that meets a held lock: nothing is lost.

Every value is written under tmp_path only. Each wait is bounded by a timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import yaml

from bbgen import api
from bbgen.render import outdir

from secretkit import SPEC_WITH_APPS
from support import ROOT

ENV = {"BBGEN_SECRET_APPS_API_EXTERNAL_STRIPE_KEY": "sk-test-from-env"}


def _start(spec: Path, out: Path, **extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT / "src"), **extra}
    return subprocess.Popen(
        [sys.executable, "-m", "bbgen", "secrets", "generate", str(spec), "--out", str(out), "--show"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def _on_disk(out: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(out.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                for key, value in doc["stringData"].items():
                    found[f"{doc['metadata']['namespace']}/{doc['metadata']['name']}/{key}"] = value
    return found


def _shown(stdout: str) -> dict[str, str]:
    return dict(line.split("\t", 1) for line in stdout.splitlines() if "\t" in line)


def test_a_second_run_waits_for_the_first_and_keeps_its_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first run is held mid-way (it is asking for a value); the second must not write meanwhile."""
    spec = tmp_path / "platform.yaml"
    spec.write_text(SPEC_WITH_APPS, encoding="utf-8")
    out = tmp_path / "secrets" / "demo"
    monkeypatch.setenv("BBGEN_LOCK_WAIT", "60")
    asking, answer = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def ask(_prompt: str) -> str:
        asking.set()
        assert answer.wait(60)
        return "sk-typed-by-a-person"

    def run(name: str, **kwargs: Any) -> None:
        try:
            results[name] = api.secrets_generate(spec, out, **kwargs)
        except Exception as exc:  # reported below, not lost in the thread
            results[name] = exc

    first = threading.Thread(target=run, args=("first",), kwargs={"environ": {}, "ask": ask})
    first.start()
    assert asking.wait(60)
    second = threading.Thread(target=run, args=("second",), kwargs={"environ": {}})  # the supplied value is then kept from disk
    second.start()
    second.join(1.5)
    assert second.is_alive(), f"the second run did not wait for the first: {results.get('second')!r}"
    assert list(out.glob("*.yaml")) == []
    answer.set()
    first.join(60)
    second.join(60)
    assert not first.is_alive() and not second.is_alive()
    one, two = results["first"], results["second"]
    assert not isinstance(one, Exception) and not isinstance(two, Exception), results
    on_disk = _on_disk(out)
    assert len(on_disk) > 5
    # the second run read what the first wrote and kept all of it (the person's value included)
    assert {"/".join(k): v for k, v in one.values.items()} == {"/".join(k): v for k, v in two.values.items()} == on_disk
    assert "sk-typed-by-a-person" in on_disk.values()
    assert not (out / outdir.LOCK_NAME).exists()


def test_a_held_lock_is_a_clear_error_and_nothing_is_written(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text(SPEC_WITH_APPS, encoding="utf-8")
    out = tmp_path / "secrets" / "demo"
    out.mkdir(parents=True, mode=0o700)
    with outdir.locked(out):
        run = _start(spec, out, BBGEN_LOCK_WAIT="0.2")
        stdout, stderr = run.communicate(timeout=120)
        assert run.returncode == 2, stderr
        assert "is writing this directory; nothing was written" in stderr and "Traceback" not in stderr
        assert stdout == ""
        assert sorted(p.name for p in out.iterdir()) == [outdir.LOCK_NAME]


def test_a_failed_run_leaves_no_directory_it_created(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text(SPEC_WITH_APPS, encoding="utf-8")
    out = tmp_path / "secrets" / "demo"
    run = _start(spec, out, BBGEN_SECRET_APPS_API_EXTERNAL_STRIPE_KEY="")  # a value that must be supplied is missing
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 2 and "nothing was written" in stderr, stderr
    assert not out.exists()
