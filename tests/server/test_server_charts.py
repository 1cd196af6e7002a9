"""`validate --server` dry-runs the charts' output too (upstream trees from `shared_charts`, rendered by helm)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from kubetest import render, server_findings, validate_server

_CHECKED = re.compile(r"server dry-run: (\d+) objects")


def test_chart_output_passes_the_server_dry_run(tools: dict[str, str], shared_charts: Path, kube_server: Any, tmp_path: Path) -> None:
    tree = render("betelgeuse", tmp_path / "out")
    args = (f"--kubeconfig={kube_server.kubeconfig}", "--charts", str(shared_charts), "--chart-version-mismatch", "allow")
    code, payload, err = validate_server(tree, *args, charts=True)  # the shared trees named explicitly win over chart_args()
    assert server_findings(payload) == [], err
    assert code == 0, err
    charted = {(f, r) for f, r in [(c["application"], c["chart"]) for c in payload["charts"]]}
    assert ("apps/prod/cilium.yaml", "cilium") in charted
    checked = _CHECKED.search(err)
    assert checked, err
    plain = validate_server(tree, f"--kubeconfig={kube_server.kubeconfig}")  # --no-charts
    fewer = _CHECKED.search(plain[2])
    assert fewer and int(checked.group(1)) > int(fewer.group(1)) + 100, (checked.group(0), fewer.group(0))
