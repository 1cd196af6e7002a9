"""Custom apps as whole workloads: a service, a worker, a job and a cronjob, each rendered as what it is.

The rendered objects are read back from disk, and one spec with every kind goes through the
real kustomize and kubeconform (`api.validate`); each mistake is a located exit 2 that writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bbgen import api
from bbgen.render.build import build_tree
from bbgen.render.write import write_tree
from bbgen.spec import load_platform
from support import MINIMAL_SPEC, bbgen

BASE = MINIMAL_SPEC + """\
components:
  cert-manager: {}
  cluster-issuers: {}
  ingress-nginx: {}
  postgres: {}
apps:
"""

ALL_KINDS = BASE + """\
  web:
    image: registry.example.org/web:1.0
    host: web
    dependsOn: [postgres]
    probes: {type: http, path: /ready}
    imagePullSecrets: [registry-pull]
    serviceAccount: web-runner
  queue:
    image: registry.example.org/web:1.0
    kind: worker
    command: [python, -m, worker]
    args: ["--concurrency", "4"]
    dependsOn: [postgres, web]
    probes: {type: exec, command: [cat, /tmp/alive]}
  seed:
    image: registry.example.org/web:1.0
    kind: job
    command: [python, -m, seed]
    dependsOn: [postgres]
  nightly:
    image: registry.example.org/web:1.0
    kind: cronjob
    schedule: "30 2 * * 1-5"
    args: [report]
    probes: {type: tcp}
"""


def _render(tmp_path: Path, text: str) -> Path:
    (tmp_path / "platform.yaml").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(tmp_path / "platform.yaml")), out)
    return out


def _objects(out: Path, app: str) -> dict[str, dict[str, Any]]:
    base = out / "components" / app / "base"
    docs = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(base.glob("*.yaml")) if p.name != "kustomization.yaml"]
    return {d["kind"]: d for d in docs}


def _container(pod_spec: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = pod_spec["containers"]
    assert len(containers) == 1
    return containers[0]


def test_each_kind_renders_as_what_it_is(tmp_path: Path) -> None:
    out = _render(tmp_path, ALL_KINDS)

    web = _objects(out, "web")
    assert {"Deployment", "Service", "Ingress"} <= set(web)
    pod = web["Deployment"]["spec"]["template"]["spec"]
    c = _container(pod)
    assert c["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert pod["imagePullSecrets"] == [{"name": "registry-pull"}]
    assert pod["serviceAccountName"] == "web-runner" and pod["automountServiceAccountToken"] is True
    assert "command" not in c and "args" not in c

    queue = _objects(out, "queue")
    assert set(queue) == {"Deployment"}, "a worker has no Service and no route"
    pod = queue["Deployment"]["spec"]["template"]["spec"]
    c = _container(pod)
    assert c["command"] == ["python", "-m", "worker"] and c["args"] == ["--concurrency", "4"]
    assert c["readinessProbe"]["exec"] == {"command": ["cat", "/tmp/alive"]}
    assert "ports" not in c and pod["automountServiceAccountToken"] is False
    assert "restartPolicy" not in pod
    env = {e["name"] for e in c["env"]}
    assert {"POSTGRES_HOST", "WEB_URL"} <= env

    seed = _objects(out, "seed")
    assert set(seed) == {"Job"}
    job = seed["Job"]
    assert job["spec"]["backoffLimit"] == 3
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "OnFailure"
    c = _container(pod)
    assert "readinessProbe" not in c and "livenessProbe" not in c, "a job has no probes by default"
    assert "POSTGRES_HOST" in {e["name"] for e in c["env"]}

    nightly = _objects(out, "nightly")
    assert set(nightly) == {"CronJob"}
    cron = nightly["CronJob"]["spec"]
    assert cron["schedule"] == "30 2 * * 1-5" and cron["concurrencyPolicy"] == "Forbid"
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "OnFailure"
    c = _container(pod)
    assert c["args"] == ["report"]
    assert c["readinessProbe"]["tcpSocket"] == {"port": 8080}


def test_probes_none_leaves_a_service_unprobed(tmp_path: Path) -> None:
    out = _render(tmp_path, BASE + "  web:\n    image: registry.example.org/web:1.0\n    probes: {type: none}\n")
    c = _container(_objects(out, "web")["Deployment"]["spec"]["template"]["spec"])
    assert "readinessProbe" not in c and "livenessProbe" not in c


@pytest.mark.tools
def test_every_kind_validates_with_the_real_tools(tmp_path: Path, tools: dict[str, str]) -> None:
    out = _render(tmp_path, ALL_KINDS)
    errors = [str(f) for f in api.validate(out).findings if f.severity == "error"]
    assert not errors, "\n".join(errors)


def _fails(tmp_path: Path, app: str) -> str:
    spec = tmp_path / "platform.yaml"
    spec.write_text(BASE + "  a:\n    image: registry.example.org/a:1.0\n" + app, encoding="utf-8")
    out = tmp_path / "out"
    result = bbgen("render", str(spec), "--out", str(out), "-q")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
    return result.stderr


@pytest.mark.parametrize("app,where,words", [
    ("    kind: worker\n    host: a\n", "platform.yaml:14:11: apps.a.host", "only kind: service"),
    ("    kind: cronjob\n", "platform.yaml:13:11: apps.a.kind", "needs a schedule"),
    ("    kind: job\n    schedule: '* * * * *'\n", "platform.yaml:14:15: apps.a.schedule", "only a cronjob"),
    ("    kind: cronjob\n    schedule: '* * *'\n", "apps.a.schedule", "has 3 fields"),
    ("    kind: cronjob\n    schedule: '61 * * * *'\n", "apps.a.schedule", "minute 61 is outside 0-59"),
    ("    kind: cronjob\n    schedule: '0 12 * * mon;'\n", "apps.a.schedule", "not cron syntax"),
    ("    probes: {type: tcp, path: /x}\n", "apps.a.probes.path", "http probe"),
    ("    probes: {type: exec}\n", "apps.a.probes.type", "needs a command"),
    ("    probes: {type: http, path: ''}\n", "apps.a.probes.path", "absolute URL path"),
    ("  b:\n    image: registry.example.org/b:1.0\n    kind: worker\n  c:\n    image: registry.example.org/c:1.0\n    dependsOn: [b]\n",
     "apps.c.dependsOn[0]", "no Service"),
])
def test_misfit_workloads_are_located_errors(tmp_path: Path, app: str, where: str, words: str) -> None:
    err = _fails(tmp_path, app)
    assert where in err and words in err, err


def test_a_valid_cron_macro_and_lists_pass(tmp_path: Path) -> None:
    for index, schedule in enumerate(("@hourly", "*/15 0-6,22-23 1 jan-mar sun", "0 0 * * 7")):
        (tmp_path / str(index)).mkdir()
        out = _render(tmp_path / str(index), BASE + f"  a:\n    image: registry.example.org/a:1.0\n    kind: cronjob\n    schedule: '{schedule}'\n")
        assert _objects(out, "a")["CronJob"]["spec"]["schedule"] == schedule


def test_an_environment_layer_changes_the_workload(tmp_path: Path) -> None:
    """`environments.<env>.apps.<name>` may change command, args, schedule, probes, pull secrets and ServiceAccount."""
    text = ALL_KINDS + """\
environments:
  prod: {}
  staging:
    domain: staging.example.org
    cluster: https://staging.example.org:6443
    apps:
      nightly: {schedule: "0 4 * * *", args: [report, --dry-run]}
      queue: {serviceAccount: queue-staging, probes: {type: tcp, command: []}}  # mappings merge: empty the command
"""
    (tmp_path / "platform.yaml").write_text(text, encoding="utf-8")
    from bbgen.spec.merge import env_view

    platform = load_platform(tmp_path / "platform.yaml")
    staging = env_view(platform, "staging").apps
    assert staging["nightly"].schedule == "0 4 * * *" and staging["nightly"].args == ["report", "--dry-run"]
    assert staging["queue"].service_account == "queue-staging" and staging["queue"].probes is not None and staging["queue"].probes.type == "tcp"
    prod = env_view(platform, "prod").apps
    assert prod["nightly"].schedule == "30 2 * * 1-5" and prod["queue"].service_account is None
    out = tmp_path / "out"
    write_tree(build_tree(platform), out)
    overlay = "\n".join(p.read_text(encoding="utf-8") for p in sorted((out / "components/nightly/overlays/staging").glob("*.yaml")))
    assert "0 4 * * *" in overlay and "--dry-run" in overlay
