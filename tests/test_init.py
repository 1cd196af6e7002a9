"""`bbgen init`: every shipped profile becomes a valid, commented starter spec with an editor modeline."""

from __future__ import annotations

import difflib
import functools
import json
import re
from pathlib import Path

import pytest

from bbgen import api
from bbgen.spec import load_platform
from bbgen.starter import profiles
from support import ROOT, bbgen

PROFILES = sorted(profiles())
MODELINE = "# yaml-language-server: $schema=platform.schema.json\n"


@functools.cache
def schema_output() -> str:
    """What a person gets from `bbgen schema` (the real command, once)."""
    result = bbgen("schema")
    assert result.returncode == 0, result.stderr
    return result.stdout


def expected_starter(profile: str, shown: str = "platform.yaml") -> str:
    """The profile itself: a modeline on top and its render hint naming the user's file, nothing else."""
    text = (ROOT / "profiles" / f"{profile}.yaml").read_text(encoding="utf-8")
    return MODELINE + text.replace(f"bbgen render profiles/{profile}.yaml", f"bbgen render {shown}")


def assert_same(expected: str, actual: str, label: str) -> None:
    if expected != actual:
        diff = difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "expected", label)
        pytest.fail("".join(diff))


def comment_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.lstrip().startswith("#") or " #" in line]


def test_profiles_are_the_shipped_ones() -> None:
    assert PROFILES == sorted(p.stem for p in (ROOT / "profiles").glob("*.yaml"))
    assert "minimal" in PROFILES


@pytest.mark.parametrize("profile", PROFILES)
def test_starter_loads_back_valid_and_keeps_every_comment(tmp_path: Path, profile: str) -> None:
    spec = tmp_path / "platform.yaml"
    result = api.init(spec, profile=profile)
    text = spec.read_text(encoding="utf-8")

    platform = load_platform(spec)
    source = (ROOT / "profiles" / f"{profile}.yaml").read_text(encoding="utf-8")
    assert platform == load_platform(ROOT / "profiles" / f"{profile}.yaml")

    assert text.startswith(MODELINE)
    kept = comment_lines(text)
    for line in comment_lines(source):
        wanted = line.replace(f"bbgen render profiles/{profile}.yaml", "bbgen render platform.yaml")
        assert wanted in kept, f"comment lost: {wanted}"
    assert "bbgen render platform.yaml --out gitops/" in text and "bbgen render profiles/" not in text
    assert_same(expected_starter(profile), text, str(spec))

    ref = re.match(r"# yaml-language-server: \$schema=(\S+)\n", text)
    assert ref is not None
    schema_file = spec.parent / ref.group(1)
    assert result.schema == schema_file
    assert_same(schema_output(), schema_file.read_text(encoding="utf-8"), str(schema_file))


def test_name_and_domain_are_set_and_the_render_uses_them(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    api.init(spec, profile="betelgeuse", name="acme", domain="acme.io")
    platform = load_platform(spec)
    assert (platform.name, platform.domain) == ("acme", "acme.io")
    assert platform.sso.realm == "acme"
    assert (platform.gitops.url, platform.gitops.repo) == ("https://git.acme.io", "acme-gitops")
    assert platform.tls.acme_email == "ops@acme.io"

    text = spec.read_text(encoding="utf-8")
    assert comment_lines(text) == comment_lines(expected_starter("betelgeuse"))
    assert "betelgeusebytes.io" not in "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))

    files = api.build(spec).with_manifest()
    rendered = b"".join(files.values())
    assert b"betelgeusebytes.io" not in rendered
    assert b"grafana.acme.io" in rendered
    assert b"app.kubernetes.io/part-of: acme" in rendered


def test_cli_writes_both_files_and_says_what_next(tmp_path: Path) -> None:
    result = bbgen("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        "wrote platform.yaml (profile minimal) and platform.schema.json; next: bbgen render platform.yaml --out gitops/\n"
    )
    assert_same(expected_starter("minimal"), (tmp_path / "platform.yaml").read_text(encoding="utf-8"), "platform.yaml")


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_bytes(b"# mine\nname: keep\n")
    refused = bbgen("init", "--profile", "gpu", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr == "bbgen: error: platform.yaml exists; pass --force to overwrite\n"
    assert spec.read_bytes() == b"# mine\nname: keep\n"
    assert not (tmp_path / "platform.schema.json").exists()

    forced = bbgen("init", "--profile", "gpu", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert_same(expected_starter("gpu"), spec.read_text(encoding="utf-8"), str(spec))


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [("--name", "Bad_Name", "name"), ("--domain", "not a domain", "domain"), ("--name", "x\ny: 1", "name")],
)
def test_bad_name_or_domain_exits_2_and_writes_nothing(tmp_path: Path, option: str, value: str, field: str) -> None:
    result = bbgen("init", "sub/platform.yaml", option, value, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("bbgen: error: the starter spec would be invalid, nothing written:\n")
    assert re.search(rf"^sub/platform\.yaml:\d+:\d+: {field}: ", result.stderr, re.M), result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_unknown_profile_lists_the_available_ones(tmp_path: Path) -> None:
    result = bbgen("init", "--profile", "nope", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"bbgen: error: --profile 'nope': no such profile (available: {', '.join(PROFILES)})\n"
    assert list(tmp_path.iterdir()) == []


def test_schema_file_is_regenerated_when_ours_and_kept_when_not(tmp_path: Path) -> None:
    schema = tmp_path / "platform.schema.json"
    stale = {"$id": api.json_schema()["$id"], "title": "from an older bbgen"}
    schema.write_text(json.dumps(stale), encoding="utf-8")
    api.init(tmp_path / "a.yaml")
    assert schema.read_text(encoding="utf-8") == schema_output()

    schema.write_text('{"$id": "https://example.org/someone-else.json"}', encoding="utf-8")
    refused = bbgen("init", "b.yaml", cwd=tmp_path)
    assert refused.returncode == 2
    assert "platform.schema.json exists and is not bbgen's schema; pass --force to overwrite" in refused.stderr
    assert not (tmp_path / "b.yaml").exists()
    assert schema.read_text(encoding="utf-8") == '{"$id": "https://example.org/someone-else.json"}'
    assert bbgen("init", "b.yaml", "--force", cwd=tmp_path).returncode == 0
    assert schema.read_text(encoding="utf-8") == schema_output()


def test_schema_url_points_the_modeline_at_a_hosted_copy(tmp_path: Path) -> None:
    url = "https://example.org/bbgen/platform.schema.json"
    result = api.init(tmp_path / "platform.yaml", schema_url=url)
    assert result.schema is None
    text = (tmp_path / "platform.yaml").read_text(encoding="utf-8")
    assert text.splitlines()[0] == f"# yaml-language-server: $schema={url}"
    assert not (tmp_path / "platform.schema.json").exists()
    bad = bbgen("init", "other.yaml", "--schema-url", "not a url", cwd=tmp_path)
    assert bad.returncode == 2 and "--schema-url 'not a url' is not a URL" in bad.stderr


def test_parent_directories_are_created_and_the_hint_names_the_path(tmp_path: Path) -> None:
    result = bbgen("init", "infra/prod/platform.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "next: bbgen render infra/prod/platform.yaml --out gitops/" in result.stderr
    spec = tmp_path / "infra" / "prod" / "platform.yaml"
    assert_same(expected_starter("minimal", "infra/prod/platform.yaml"), spec.read_text(encoding="utf-8"), str(spec))
    assert (spec.parent / "platform.schema.json").is_file()


def test_two_inits_are_byte_identical(tmp_path: Path) -> None:
    for run in ("one", "two"):
        api.init(tmp_path / run / "platform.yaml", profile="gpu", name="acme", domain="acme.io")
    for name in ("platform.yaml", "platform.schema.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_help_has_an_example() -> None:
    helped = bbgen("init", "--help")
    assert helped.returncode == 0
    assert "bbgen init infra/platform.yaml --profile betelgeuse" in helped.stdout
    assert "--force" in helped.stdout and "--schema-url" in helped.stdout


@pytest.mark.tools
def test_minimal_starter_renders_and_validates_clean(tmp_path: Path, tools: dict[str, str]) -> None:
    spec = tmp_path / "platform.yaml"
    api.init(spec, name="acme", domain="acme.io")
    out = tmp_path / "gitops"
    api.render(spec, out)
    report = api.validate(out)
    errors = [str(f) for f in report.findings if f.severity == "error"]
    assert not errors, "\n".join(errors)
    assert report.builds
