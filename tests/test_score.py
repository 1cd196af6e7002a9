"""Score workloads as apps: `apps.<name>.score` renders exactly what the same app written in the spec renders.

The comparison is on the whole rendered repository (every file's bytes), so any field the
Score reader maps wrongly, drops or adds shows up. Every refusal is a located exit 2 from the
real CLI that writes nothing, pointing into the Score file (or at the spec's `score:` line
when the file is missing).
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
  redis: {}
apps:
"""

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: registry.example.org/web:1.0
    command: [python]
    args: ["-m", "web", "--name", "${metadata.name}", "$${HOME}"]
    variables:
      LOG_LEVEL: info
      POSTGRES_HOST: ${resources.db.host}
      DB_HOST: ${resources.db.host}
      DATABASE_URL: "postgresql://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/${resources.db.database}"
      CACHE: "redis://:${resources.cache.password}@${resources.cache.host}"
      PRICE: "5$ or $${X}"
      MIXED: "$$HOME-${resources.db.host}-5$"
    resources:
      requests: {cpu: 250m, memory: 256Mi}
      limits: {memory: 512Mi}
    readinessProbe:
      httpGet: {path: /ready, port: 3000}
    livenessProbe:
      httpGet: {path: /ready, port: 3000}
service:
  ports:
    web:
      port: 80
      targetPort: 3000
resources:
  db:
    type: postgres
  cache:
    type: redis
  dns:
    type: dns
  route:
    type: route
    params:
      host: ${resources.dns.host}
      path: /
      port: 80
"""

# The same app written out in the spec: what the Score file above means.
WRITTEN = """\
  web:
    image: registry.example.org/web:1.0
    replicas: 2
    port: 3000
    host: web
    dependsOn: [postgres, redis]
    command: [python]
    args: ["-m", "web", "--name", "web", "${HOME}"]
    env:
      - {name: LOG_LEVEL, value: info}
      - {name: DB_HOST, value: "$(POSTGRES_HOST)", expand: true}
      - name: DATABASE_URL
        value: "postgresql://$(POSTGRES_USER):$(POSTGRES_PASSWORD)@$(POSTGRES_HOST):$(POSTGRES_PORT)/$(POSTGRES_DB)"
        expand: true
      - {name: CACHE, value: "redis://:$(REDIS_PASSWORD)@$(REDIS_HOST)", expand: true}
      - {name: PRICE, value: "5$ or ${X}"}
      - {name: MIXED, value: "$$HOME-$(POSTGRES_HOST)-5$$", expand: true}
    resources:
      requests: {cpu: 250m, memory: 256Mi}
      limits: {memory: 512Mi}
    probes: {type: http, path: /ready}
"""

FROM_SCORE = """\
  web:
    score: app/score.yaml
    replicas: 2
"""


def _write(tmp_path: Path, apps: str, score: str | None = SCORE) -> Path:
    spec = tmp_path / "platform.yaml"
    spec.write_text(BASE + apps, encoding="utf-8")
    if score is not None:
        (tmp_path / "app").mkdir(exist_ok=True)
        (tmp_path / "app" / "score.yaml").write_text(score, encoding="utf-8")
    return spec


def _tree(spec: Path) -> dict[str, bytes]:
    return build_tree(load_platform(spec)).with_manifest()


def test_a_score_file_renders_the_same_repository_as_the_app_written_out(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    from_score = _tree(_write(tmp_path / "a", FROM_SCORE))
    written = _tree(_write(tmp_path / "b", WRITTEN, score=None))
    assert sorted(from_score) == sorted(written)
    different = [p for p in sorted(written) if from_score[p] != written[p]]
    assert not different, f"files differ: {different}"


def _container(out: Path) -> dict[str, Any]:
    deployment = yaml.safe_load((out / "components" / "web" / "base" / "deployment-web.yaml").read_text(encoding="utf-8"))
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def test_placeholders_become_references_to_what_bbgen_injects(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(_write(tmp_path, FROM_SCORE))), out)
    c = _container(out)
    env = [e["name"] for e in c["env"]]
    # References come after every variable they may name, so the kubelet has each one defined first.
    assert env[-4:] == ["CACHE", "DATABASE_URL", "DB_HOST", "MIXED"]
    values = {e["name"]: e for e in c["env"]}
    assert values["DB_HOST"]["value"] == "$(POSTGRES_HOST)"
    assert values["DATABASE_URL"]["value"].startswith("postgresql://$(POSTGRES_USER):$(POSTGRES_PASSWORD)@")
    assert env.index("DATABASE_URL") > env.index("POSTGRES_PASSWORD") and env.index("CACHE") > env.index("REDIS_PASSWORD")
    assert values["PRICE"]["value"] == "5$$ or $${X}", "a literal `$` stays literal for the kubelet"
    assert values["MIXED"]["value"] == "$$HOME-$(POSTGRES_HOST)-5$$", "beside a reference too"
    assert env.count("POSTGRES_HOST") == 1, "a variable that is exactly the injected one is bbgen's own"
    assert values["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "postgres-web"  # its own role's password
    assert values["POSTGRES_USER"]["value"] == "web"
    assert c["args"] == ["-m", "web", "--name", "web", "${HOME}"]
    assert c["ports"][0]["containerPort"] == 3000
    ingress = (out / "components" / "web" / "base" / "ingress-web.yaml").read_text(encoding="utf-8")
    assert "host: web.demo.example.org" in ingress


def test_spec_fields_beside_score_and_the_image_the_platform_pins(tmp_path: Path) -> None:
    score = SCORE.replace("image: registry.example.org/web:1.0", 'image: "."')
    spec = _write(tmp_path, FROM_SCORE + "    image: registry.example.org/web:2.0\n    namespace: shop\n    host: shop\n", score)
    app = load_platform(spec).apps["web"]
    assert (app.image, app.namespace, app.host, app.replicas) == ("registry.example.org/web:2.0", "shop", "shop", 2)
    assert app.score == "app/score.yaml"


def test_a_worker_without_service_ports_and_no_probes(tmp_path: Path) -> None:
    score = "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  main: {image: registry.example.org/w:1}\n"
    app = load_platform(_write(tmp_path, FROM_SCORE, score)).apps["web"]
    assert app.kind == "worker" and app.probes is not None and app.probes.type == "none"


def _fails(tmp_path: Path, apps: str, score: str | None = SCORE) -> list[str]:
    spec = _write(tmp_path, apps, score)
    out = tmp_path / "out"
    result = bbgen("render", "platform.yaml", "--out", str(out), "-q", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert not out.exists(), "nothing is written when the spec is refused"
    assert "Traceback" not in result.stderr
    assert spec.is_file()
    return [line for line in result.stderr.splitlines() if line.strip()]


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(("change", "needle", "where", "message"), [
    (("type: redis", "type: mongodb"), "type: mongodb", "resources.cache.type", "bbgen cannot provide a resource of type 'mongodb'; types it can: dns, llm-model, postgres, redis, route, s3, volume"),
    (("score.dev/v1b1", "score.dev/v1"), "apiVersion", "apiVersion", "'score.dev/v1' is not a Score version bbgen reads; use score.dev/v1b1"),
    (("service:\n", "  side:\n    image: busybox:1.37\nservice:\n"), "  side:", "containers.side", "a bbgen app runs one container, this workload has 2 (main, side)"),
    (("${resources.db.host}\n", "${resources.db.hostname}\n"), "DB_HOST", "containers.main.variables.DB_HOST", "postgres has no output 'hostname'; its outputs: database, host, name, password, port, username"),
    (("cpu: 250m", "cpu: lots"), "cpu: lots", "containers.main.resources.requests.cpu", "'lots' is not a Kubernetes quantity"),
    (("name: web\n", "name: shop\n"), "name: shop", "metadata.name", "'shop' differs from the app's name 'web'"),
    (("path: /\n      port: 80", "path: /\n      port: 81"), "port: 81", "resources.route.params.port", "must be one of the service ports (80)"),
])
def test_what_bbgen_cannot_honour_is_located_in_the_score_file(
    tmp_path: Path, change: tuple[str, str], needle: str, where: str, message: str,
) -> None:
    score = SCORE.replace(*change)
    assert score != SCORE
    lines = _fails(tmp_path, FROM_SCORE, score)
    prefix = f"app/score.yaml:{_line(score, needle)}:"
    found = [line for line in lines if line.startswith(prefix) and f": {where}: " in line and message in line]
    assert found, "\n".join(lines)


def test_a_missing_score_file_is_located_at_the_spec_line(tmp_path: Path) -> None:
    lines = _fails(tmp_path, FROM_SCORE, score=None)
    line = _line(BASE + FROM_SCORE, "score:")
    assert lines == [f"platform.yaml:{line}:12: apps.web.score: Score file app/score.yaml not found (the path is relative to the spec file)"]


def test_a_field_given_twice_and_score_in_an_environment_layer_are_refused(tmp_path: Path) -> None:
    lines = _fails(tmp_path, FROM_SCORE + "    command: [other]\n")
    assert any(line.startswith("platform.yaml:") and "apps.web.command: is given by the Score file app/score.yaml" in line for line in lines), lines
    layer = FROM_SCORE + "environments:\n  prod: {}\n  dev:\n    apps:\n      web: {score: app/score.yaml}\n"
    lines = _fails(tmp_path, layer)
    assert any("environments.dev.apps.web.score" in line for line in lines), lines


def test_a_reference_to_a_variable_the_container_lacks_is_located(tmp_path: Path) -> None:
    apps = "  api:\n    image: registry.example.org/api:1.0\n    env:\n      - {name: URL, value: \"$(NOPE)/x\", expand: true}\n"
    lines = _fails(tmp_path, apps, score=None)
    assert len(lines) == 1 and lines[0].startswith(f"platform.yaml:{_line(BASE + apps, 'NOPE')}:")
    assert "apps.api.env[0].value: $(NOPE) names no variable the container has before URL" in lines[0]


def test_files_become_app_files_with_placeholders_filled(tmp_path: Path) -> None:
    score = SCORE.replace("    resources:\n", (
        "    files:\n      /etc/web/name.txt: {content: \"${metadata.name}\", mode: \"644\"}\n"
        "      /etc/web/app.conf: {source: app.conf}\n    resources:\n"
    ), 1)
    spec = _write(tmp_path, FROM_SCORE, score)
    (tmp_path / "app" / "app.conf").write_text("listen = 3000\n", encoding="utf-8")
    app = load_platform(spec).apps["web"]
    files = [f.model_dump(exclude_none=True) for f in app.files]  # type: ignore[attr-defined]
    assert files == [
        {"path": "/etc/web/name.txt", "content": "web", "mode": "0644"},
        {"path": "/etc/web/app.conf", "content": "listen = 3000\n"},
    ]


@pytest.mark.tools
def test_the_score_app_validates_with_the_real_tools(tmp_path: Path, tools: dict[str, str]) -> None:
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(_write(tmp_path, FROM_SCORE))), out)
    errors = [str(f) for f in api.validate(out).findings if f.severity == "error"]
    assert not errors, "\n".join(errors)


def test_cross_field_checks_and_layers_are_located_where_each_value_was_written(tmp_path: Path) -> None:
    score = SCORE.replace("      LOG_LEVEL: info\n", "      LOG_LEVEL: info\n      REDIS_PORT: \"6380\"\n", 1)
    layer = FROM_SCORE + (
        "environments:\n  prod: {}\n  dev:\n    cluster: https://dev.example.org:6443\n"
        "    apps:\n      web:\n        resources: {requests: {cpu: lots}}\n"
    )
    lines = _fails(tmp_path, layer, score)
    at_layer = f"platform.yaml:{_line(BASE + layer, 'cpu: lots')}:"
    assert any(line.startswith(at_layer) and "environments.dev.apps.web.resources.requests.cpu" in line for line in lines), lines
    lines = _fails(tmp_path, FROM_SCORE, score)  # valid values: now the cross-field checks run
    at_score = f"app/score.yaml:{_line(score, 'REDIS_PORT')}:7: containers.main.variables.REDIS_PORT: REDIS_PORT is injected by bbgen"
    assert any(line.startswith(at_score) for line in lines), lines


def test_several_service_ports_become_named_ports_with_the_routed_one_marked(tmp_path: Path) -> None:
    score = SCORE.replace("      targetPort: 3000\n", "      targetPort: 3000\n    metrics:\n      port: 9090\n", 1)
    app = load_platform(_write(tmp_path, FROM_SCORE, score)).apps["web"]
    ports = [p.model_dump(exclude_defaults=True) for p in app.ports]  # type: ignore[attr-defined]
    assert ports == [{"name": "web", "port": 3000, "route": True}, {"name": "metrics", "port": 9090}]
    other = score.replace("{path: /ready, port: 3000}", "{path: /ready, port: 9090}")
    lines = _fails(tmp_path, FROM_SCORE, other)
    assert any(": containers.main.readinessProbe.httpGet.port: bbgen probes the app's routed (or first) port, 3000" in line for line in lines), lines


VOLUMES = SCORE.replace("    resources:\n", "    volumes:\n      /var/lib/web: {source: \"${resources.data}\"}\n      /scratch: {source: \"${resources.scratch}\"}\n    resources:\n", 1) + (
    "  data:\n    type: volume\n    params: {size: 5Gi}\n  scratch:\n    type: volume\n"
)


def test_volume_resources_become_app_volumes(tmp_path: Path) -> None:
    app = load_platform(_write(tmp_path, FROM_SCORE, VOLUMES)).apps["web"]
    volumes = [v.model_dump(exclude_none=True) for v in app.volumes]  # type: ignore[attr-defined]
    assert volumes == [
        {"name": "data", "path": "/var/lib/web", "type": "persistent", "size": "5Gi"},
        {"name": "scratch", "path": "/scratch", "type": "emptyDir"},
    ]


def test_a_volume_named_like_bbgens_own_is_refused_in_the_score_file(tmp_path: Path) -> None:
    text = VOLUMES.replace("${resources.scratch}", "${resources.tmp}").replace("  scratch:\n    type: volume\n", "  tmp:\n    type: volume\n")
    lines = _fails(tmp_path, FROM_SCORE, text)
    assert any(line.startswith("app/score.yaml:") and "a volume bbgen mounts itself" in line for line in lines), lines


def test_a_catalog_score_output_must_be_a_variable_the_component_injects() -> None:
    from pydantic import ValidationError

    from bbgen.catalog import KustomizeComponent

    base = {"name": "db", "description": "d", "domain": "db", "namespace": "db", "delivery": "kustomize",
            "expose": {"env": {"DB_HOST": "db"}}}
    KustomizeComponent.model_validate({**base, "score": {"type": "postgres", "outputs": {"host": "DB_HOST"}}})
    with pytest.raises(ValidationError, match="score.outputs names \\['DB_PORT'\\]"):
        KustomizeComponent.model_validate({**base, "score": {"type": "postgres", "outputs": {"port": "DB_PORT"}}})


def test_the_spec_may_add_dependencies_and_variables_beside_score(tmp_path: Path) -> None:
    apps = FROM_SCORE + "    dependsOn: [redis, api]\n    env:\n      - {name: TEAM, value: shop}\n      - {name: LOG_LEVEL, value: debug}\n"
    apps += "  api:\n    image: registry.example.org/api:1.0\n"
    lines = _fails(tmp_path, apps)
    # LOG_LEVEL is the Score file's too: reported at the spec's entry, under the path written there.
    expected = f"platform.yaml:{_line(BASE + apps, 'LOG_LEVEL')}:"
    assert [line for line in lines if line.startswith(expected)], lines
    assert all("apps.web.env[1].name: LOG_LEVEL is already set by env[0]" in line for line in lines), lines
    spec = _write(tmp_path, apps.replace("      - {name: LOG_LEVEL, value: debug}\n", ""))
    app = load_platform(spec).apps["web"]
    assert app.depends_on == ["postgres", "redis", "api"]
    assert [e.name for e in app.env][-1] == "TEAM"


def test_a_type_several_components_satisfy_depends_on_the_role_they_fill(tmp_path: Path) -> None:
    score = (
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  main:\n    image: registry.example.org/w:1\n"
        "    variables: {MODEL: \"${resources.llm.model}\", LLM_BASE_URL: \"${resources.llm.url}\"}\n"
        "resources:\n  llm: {type: llm-model}\n"
    )
    spec = _write(tmp_path, FROM_SCORE, score)
    spec.write_text(spec.read_text(encoding="utf-8").replace("  redis: {}\n", "  redis: {}\n  ollama: {public: true}\n"), encoding="utf-8")
    app = load_platform(spec).apps["web"]
    assert app.depends_on == ["llm"], "the role, so the spec's `llm:` choice decides which provider"
    assert [(e.name, e.value, e.expand) for e in app.env] == [("MODEL", "$(LLM_MODEL)", True)]


def test_a_score_file_that_is_not_yaml_is_located_in_it(tmp_path: Path) -> None:
    lines = _fails(tmp_path, FROM_SCORE, SCORE.replace("metadata:\n", "metadata: [\n", 1))
    assert len(lines) == 1 and lines[0].startswith("app/score.yaml:") and "YAML syntax error" in lines[0], lines


STORAGE = VOLUMES.replace("    resources:\n", "    files:\n      /etc/web/name.txt: {content: \"${metadata.name}\", mode: \"644\"}\n    resources:\n", 1)
WRITTEN_STORAGE = WRITTEN + """\
    files:
      - {path: /etc/web/name.txt, content: web, mode: "0644"}
    volumes:
      - {name: data, path: /var/lib/web, type: persistent, size: 5Gi}
      - {name: scratch, path: /scratch, type: emptyDir}
"""


def test_files_and_volumes_render_the_same_repository_as_written_out(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    from_score = _tree(_write(tmp_path / "a", FROM_SCORE, STORAGE))
    written = _tree(_write(tmp_path / "b", WRITTEN_STORAGE, score=None))
    assert any("statefulset" in p for p in written), "a persistent volume makes a StatefulSet"
    assert sorted(from_score) == sorted(written)
    assert [p for p in sorted(written) if from_score[p] != written[p]] == []


@pytest.mark.tools
def test_a_score_app_with_files_and_volumes_validates_with_the_real_tools(tmp_path: Path, tools: dict[str, str]) -> None:
    out = tmp_path / "out"
    write_tree(build_tree(load_platform(_write(tmp_path, FROM_SCORE, STORAGE))), out)
    errors = [str(f) for f in api.validate(out).findings if f.severity == "error"]
    assert not errors, "\n".join(errors)
