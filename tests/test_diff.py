"""bbgen diff --against DIR: exit codes, owned files only, per-resource summary, plain when piped."""

from __future__ import annotations

from pathlib import Path

from support import REFERENCE, bbgen


def test_diff_against_directory(tmp_path: Path) -> None:
    out = tmp_path / "gitops"
    assert bbgen("render", str(REFERENCE), "--out", str(out)).returncode == 0
    (out / "NOTES.md").write_text("hand-written\n")
    (out / "components" / "extra.yaml").write_text("kind: ConfigMap\n")

    same = bbgen("diff", str(REFERENCE), "--against", str(out))
    assert same.returncode == 0, same.stdout + same.stderr
    assert same.stdout == "" and "no changes" in same.stderr

    spec = tmp_path / "changed.yaml"
    text = REFERENCE.read_text().replace("replicas: 2", "replicas: 3")
    text = text.replace("  qdrant:\n    storage: 100Gi\n", "  qdrant:\n    enabled: false\n").replace("      - qdrant\n", "")
    spec.write_text(text)
    changed = bbgen("diff", str(spec), "--against", str(out))
    assert changed.returncode == 1
    lines = changed.stdout.splitlines()
    assert lines[0].startswith("Argo CD Applications")
    assert "  - Application argocd/prod-qdrant  (apps/prod/qdrant.yaml)" in lines
    assert "  ~ Deployment hadith/orchestrator  (components/orchestrator/base/deployment-orchestrator.yaml)" in lines
    assert "  - StatefulSet vec/qdrant  (components/qdrant/base/statefulset-qdrant.yaml)" in lines
    assert "NOTES.md" not in changed.stdout and "extra.yaml" not in changed.stdout
    assert "-  replicas: 2" in changed.stdout and "+  replicas: 3" in changed.stdout
    assert "\x1b[" not in changed.stdout  # piped: no colour

    stat = bbgen("diff", str(spec), "--against", str(out), "--stat")
    assert stat.returncode == 1
    assert "@@" not in stat.stdout and stat.stdout.splitlines()[-1].startswith("Files: ")


def test_diff_needs_exactly_one_target(tmp_path: Path) -> None:
    result = bbgen("diff", str(REFERENCE))
    assert result.returncode == 2 and "exactly one of --against DIR and --remote" in result.stderr
