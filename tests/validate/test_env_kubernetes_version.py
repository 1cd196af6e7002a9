"""An environment layer's `kubernetesVersion` is what that environment's objects are validated against.

Checked with the real kustomize and kubeconform: dev's layer adds a container field (`resizePolicy`, in the
Kubernetes API since 1.27) and, when the same layer also pins dev to 1.25, strict validation refuses it there
and only there; with dev on the base version it passes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bbgen import api

SPEC = """\
name: kv
domain: example.org
gitops: {{url: https://git.example.org, owner: platform, repo: kv-gitops}}
tls: {{acmeEmail: ops@example.org}}
kubernetesVersion: "1.34.0"
environments:
  prod: {{}}
  dev:
    cluster: https://dev.example.org:6443
{dev_version}    apps:
      web:
        patches:
          - target: {{kind: Deployment, name: web}}
            patch:
              spec: {{template: {{spec: {{containers: [{{name: web, resizePolicy: [{{resourceName: cpu, restartPolicy: NotRequired}}]}}]}}}}}}
components:
  cert-manager: {{}}
apps:
  web:
    image: registry.example.org/web:1.0.0
"""


def _validate(tmp_path: Path, dev_version: str) -> list[str]:
    tmp_path.mkdir()
    spec = tmp_path / "platform.yaml"
    spec.write_text(SPEC.format(dev_version=dev_version), encoding="utf-8")
    out = tmp_path / "out"
    api.render(spec, out)
    commands: list[str] = []
    report = api.validate(out, log=commands.append)
    errors = [f"{f.file}: {f.message}" for f in report.findings if f.severity == "error"]
    return errors + ["$ " + c for c in commands if "kubeconform" in c]


@pytest.mark.tools
def test_a_layers_kubernetes_version_validates_that_environment_alone(tmp_path: Path, tools: dict[str, str]) -> None:
    older = _validate(tmp_path / "older", '    kubernetesVersion: "1.25.0"\n')
    errors = [line for line in older if not line.startswith("$ ")]
    assert errors and all("/dev" in e and "resizePolicy" in e for e in errors), older
    runs = [line for line in older if line.startswith("$ ")]
    assert any("1.25" in r for r in runs) and any("1.34" in r for r in runs), runs

    same = _validate(tmp_path / "same", "")
    assert not [line for line in same if not line.startswith("$ ")], same
