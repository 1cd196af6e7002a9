"""`bbgen promote`: one environment's value of a component or app written for another, in the commented spec file.

The spec below is what a person keeps: comments everywhere, prod described by the
base, staging and dev as layers. Each test diffs the file's text: exactly the
expected lines change, every comment stays. The render after a promotion is built
with the real kustomize: the new image reaches the promoted environment only.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from support import bbgen

SPEC = textwrap.dedent("""\
    # Three environments; prod is the base, staging and dev are layers.
    name: promo
    domain: example.org

    gitops:
      url: https://git.example.org
      owner: platform
      repo: promo-gitops

    tls: {acmeEmail: ops@example.org}

    environments:
      prod: {}
      # staging runs the release candidate
      staging:
        cluster: https://staging.k8s.example.org:6443
        components:
          api:
            image: registry.example.org/promo/api:1.1.0  # candidate
          prometheus:
            settings:
              retention: 7d  # short on staging
              retentionSize: null
      dev:
        # dev follows prod unless said otherwise
        cluster: https://dev.k8s.example.org:6443
        components:
          api:
            replicas: 1

    components:
      # observability
      prometheus:
        storage: 20Gi
        settings:
          retention: 30d  # a month of metrics
          retentionSize: 18GB
      kube-state-metrics: {}
      node-exporter: {}

    apps:
      # the product
      api:
        image: registry.example.org/promo/api:1.0.0  # released
        replicas: 2
        host: api
""")


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    import difflib

    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def test_promote_to_prod_changes_the_base_and_pins_dev(spec: Path) -> None:
    done = bbgen("promote", str(spec), "api", "--from", "staging", "--to", "prod")
    assert done.returncode == 0, done.stderr
    after = spec.read_text(encoding="utf-8")
    expected = SPEC.replace(
        "    image: registry.example.org/promo/api:1.0.0  # released\n",
        "    image: registry.example.org/promo/api:1.1.0  # released\n",
    ).replace(
        "        replicas: 1\n",
        "        replicas: 1\n        image: registry.example.org/promo/api:1.0.0\n",
    )
    assert after == expected  # the base line, and dev keeps what it ran; every comment where it was
    assert "api.image: registry.example.org/promo/api:1.0.0 -> registry.example.org/promo/api:1.1.0" in done.stderr
    assert "written at apps.api.image, environments.dev.components.api.image" in done.stderr
    assert done.stdout.startswith("Render of prod:\n")
    assert "~ Deployment apps/api  (components/api/base/deployment-api.yaml)" in done.stdout
    assert "overlays/dev" not in done.stdout and "overlays/staging" not in done.stdout  # other environments: unchanged
    again = bbgen("promote", str(spec), "api", "--from", "staging", "--to", "prod")
    assert again.returncode == 0 and "nothing to promote" in again.stderr and again.stdout == ""
    assert spec.read_text(encoding="utf-8") == after


def test_promote_into_a_layer_changes_that_layer_only(spec: Path) -> None:
    done = bbgen("promote", str(spec), "api", "--from", "prod", "--to", "staging", "-q")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    removed, added = changed_lines(SPEC, spec.read_text(encoding="utf-8"))
    assert removed == ["        image: registry.example.org/promo/api:1.1.0  # candidate"]
    assert added == ["        image: registry.example.org/promo/api:1.0.0  # candidate"]
    assert "overlays/staging" in done.stdout and "components/api/base" not in done.stdout


def test_settings_are_promoted_key_by_key_with_a_flag(spec: Path) -> None:
    only_image = bbgen("promote", str(spec), "prometheus", "--from", "staging", "--to", "prod")
    assert only_image.returncode == 0 and "nothing to promote" in only_image.stderr  # neither sets a version
    done = bbgen("promote", str(spec), "prometheus", "--from", "staging", "--to", "prod", "--settings")
    assert done.returncode == 0, done.stderr
    after = spec.read_text(encoding="utf-8")
    removed, added = changed_lines(SPEC, after)
    # prod takes 7d and loses retentionSize (as staging does); dev keeps both values it had, in its own layer
    assert removed == ["      retention: 30d  # a month of metrics", "      retentionSize: 18GB"]
    assert added == [
        "      prometheus:", "        settings:", "          retention: 30d", "          retentionSize: 18GB",
        "      retention: 7d   # a month of metrics",  # ruamel keeps the comment's column
    ]
    assert "        replicas: 1\n      prometheus:\n" in after and "retentionSize: 18GB\n\ncomponents:\n" in after  # the blank line stays before `components`
    from bbgen.spec.layers import layered
    from bbgen.spec._positions import PosNode
    from bbgen.spec.loader import read_yaml

    data = read_yaml(spec).data
    settings = {env: layered(data, PosNode(), env)[0]["components"]["prometheus"]["settings"] for env in ("prod", "staging", "dev")}
    assert settings == {"prod": {"retention": "7d"}, "staging": {"retention": "7d"}, "dev": {"retention": "30d", "retentionSize": "18GB"}}


def test_dry_run_writes_nothing_and_prints_the_spec_diff(spec: Path) -> None:
    before = spec.read_bytes()
    done = bbgen("promote", str(spec), "api", "--from", "staging", "--to", "prod", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert spec.read_bytes() == before
    assert sorted(p.name for p in spec.parent.iterdir()) == ["platform.yaml"]  # no staged file left
    assert "--- a/platform.yaml\n+++ b/platform.yaml\n" in done.stdout
    assert "-    image: registry.example.org/promo/api:1.0.0  # released\n+    image: registry.example.org/promo/api:1.1.0  # released\n" in done.stdout
    assert "dry run" in done.stderr


def test_errors_list_what_exists(spec: Path) -> None:
    before = spec.read_bytes()
    cases = [
        (["nope", "--from", "staging", "--to", "prod"], "'nope': no such component or app in environment staging (it has api, kube-state-metrics, node-exporter, prometheus)"),
        (["api", "--from", "qa", "--to", "prod"], "--from 'qa': no such environment (the spec has prod, staging, dev)"),
        (["api", "--from", "staging", "--to", "production"], "--to 'production': no such environment"),
        (["api", "--from", "staging", "--to", "staging"], "--from and --to are both 'staging'"),
        (["api", "--from", "staging", "--to", "prod", "--what", "colour"], "--what 'colour': an app has no such field (image, settings or one of enabled, image, namespace"),
    ]
    for args, message in cases:
        done = bbgen("promote", str(spec), *args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert done.stdout == ""
    assert spec.read_bytes() == before


def test_help_has_examples() -> None:
    done = bbgen("promote", "--help")
    assert done.returncode == 0 and "Examples:" in done.stdout and "--dry-run" in done.stdout and "--settings" in done.stdout


def _build(tools: dict[str, str], root: Path, env: str) -> str:
    return subprocess.run([tools["kustomize"], "build", str(root / "components" / "api" / "overlays" / env)], capture_output=True, text=True, check=True, timeout=120).stdout


def test_the_render_gives_the_new_image_to_the_promoted_environment_only(tools: dict[str, str], spec: Path, tmp_path: Path) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    assert bbgen("render", str(spec), "--out", str(before), "-q").returncode == 0
    assert bbgen("promote", str(spec), "api", "--from", "staging", "--to", "prod", "-q").returncode == 0
    assert bbgen("render", str(spec), "--out", str(after), "-q").returncode == 0
    images = {
        (side.name, env): [line.strip() for line in _build(tools, side, env).splitlines() if line.strip().startswith("image:")]
        for side in (before, after) for env in ("prod", "staging", "dev")
    }
    old, new = ["image: registry.example.org/promo/api:1.0.0"], ["image: registry.example.org/promo/api:1.1.0"]
    assert images == {
        ("before", "prod"): old, ("before", "staging"): new, ("before", "dev"): old,
        ("after", "prod"): new, ("after", "staging"): new, ("after", "dev"): old,
    }
    for env in ("prod", "staging", "dev"):  # each Application still deploys its own overlay
        application = (after / "apps" / env / "api.yaml").read_text(encoding="utf-8")
        assert f"path: components/api/overlays/{env}\n" in application


FLOW = textwrap.dedent("""\
    name: promo
    domain: example.org
    gitops: {url: https://git.example.org, owner: platform, repo: promo-gitops}
    tls: {acmeEmail: ops@example.org}
    environments:
      prod:  # the base
        apps:
          tool: {image: registry.example.org/promo/tool:1.0.0}  # prod's own app
      staging:
        cluster: https://staging.k8s.example.org:6443
        apps:
          api: {image: registry.example.org/promo/api:1.1.0}  # candidate
          tool: {image: registry.example.org/promo/tool:2.0.0}
          lab: {image: registry.example.org/promo/lab:0.1.0}
      qa: {cluster: https://qa.k8s.example.org:6443}
    apps:
      api:
        image: registry.example.org/promo/api:1.0.0
""")


def test_a_flow_layer_grows_as_a_block_and_a_layer_only_app_stays_in_its_layer(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text(FLOW, encoding="utf-8")
    assert bbgen("promote", str(spec), "api", "--from", "staging", "--to", "prod", "-q").returncode == 0
    pinned = FLOW.replace("api:1.0.0\n", "api:1.1.0\n").replace(
        "  qa: {cluster: https://qa.k8s.example.org:6443}\n",
        "  qa:\n    cluster: https://qa.k8s.example.org:6443\n    apps:\n      api:\n        image: registry.example.org/promo/api:1.0.0\n",
    )
    assert spec.read_text(encoding="utf-8") == pinned
    # `tool` is written by prod's layer, not the base: the base has no entry, so the layer changes
    assert bbgen("promote", str(spec), "tool", "--from", "staging", "--to", "prod", "-q").returncode == 0
    assert spec.read_text(encoding="utf-8") == pinned.replace("tool:1.0.0}  # prod's own app", "tool:2.0.0}  # prod's own app")
    missing = bbgen("promote", str(spec), "lab", "--from", "staging", "--to", "prod")
    assert missing.returncode == 2 and "'lab': no such component or app in environment prod (it has api, tool)" in missing.stderr


def test_a_promotion_that_would_break_the_spec_writes_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text(textwrap.dedent("""\
        name: promo
        domain: example.org
        gitops: {url: https://git.example.org, owner: platform, repo: promo-gitops}
        tls: {acmeEmail: ops@example.org}
        environments:
          prod: {}
          staging:
            cluster: https://staging.k8s.example.org:6443
            apps:
              api: {host: www}
              web: {host: web}
        apps:
          api: {image: registry.example.org/promo/api:1.0.0, host: api}
          web: {image: registry.example.org/promo/web:1.0.0, host: www}
        """), encoding="utf-8")
    before = spec.read_bytes()
    done = bbgen("promote", str(spec), "api", "--from", "staging", "--to", "prod", "--what", "host")
    assert done.returncode == 2, done.stderr
    assert "the promoted spec would be invalid, nothing written:" in done.stderr
    assert f"{spec}:14:60: apps.web.host: host www.example.org is already claimed by 'api' (environment prod)" in done.stderr
    assert spec.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["platform.yaml"]


def test_json_output_names_each_value_and_where_it_went(spec: Path) -> None:
    import json

    done = bbgen("promote", str(spec), "api", "--from", "staging", "--to", "prod", "-o", "json", "-q")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    document = json.loads(done.stdout)
    assert document["written"] is True and (document["from"], document["to"], document["kind"]) == ("staging", "prod", "app")
    assert document["changes"] == [{
        "field": "image", "old": "registry.example.org/promo/api:1.0.0", "new": "registry.example.org/promo/api:1.1.0",
        "writtenAt": ["apps.api.image", "environments.dev.components.api.image"],
    }]
    assert [(r["action"], r["kind"], r["name"]) for r in document["render"]["resources"]] == [("changed", "Deployment", "api")]
    nothing = json.loads(bbgen("promote", str(spec), "api", "--from", "staging", "--to", "prod", "-o", "json", "-q").stdout)
    assert nothing["changes"] == [] and nothing["written"] is False and nothing["render"]["identical"] is True


def test_a_file_ruamel_would_reformat_is_flagged(spec: Path) -> None:
    spec.write_text(SPEC.replace("    image: registry.example.org/promo/api:1.0.0", "    image:   registry.example.org/promo/api:1.0.0"), encoding="utf-8")
    done = bbgen("promote", str(spec), "api", "--from", "staging", "--to", "prod", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "does not keep its layout through a YAML round trip" in done.stderr
    spec.write_text(SPEC, encoding="utf-8")
    kept = bbgen("promote", str(spec), "api", "--from", "staging", "--to", "prod", "--dry-run")
    assert kept.returncode == 0 and "round trip" not in kept.stderr
