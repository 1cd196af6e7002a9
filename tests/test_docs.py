"""The spec reference and the stable schema file: current, complete, and readable as Markdown.

docs/spec.md and docs/platform.schema.json are committed so people can read and link
them without running bbgen; these tests fail as soon as a model change leaves them
stale. The Markdown is read back with a real CommonMark + GFM-tables parser
(markdown-it-py), the way a forge renders it, not with string searches.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bbgen import api, catalog
from bbgen.catalog import load_catalog
from bbgen.spec.docs import REGENERATE, reference_markdown
from support import ROOT, bbgen

DOCS = ROOT / "docs"
SCHEMA_COMMAND = "bbgen schema --out docs/platform.schema.json"
COMPONENT_MODELINE = "# yaml-language-server: $schema=../../docs/component.schema.json"
_MD = MarkdownIt("commonmark").enable("table")

Rows = dict[str, dict[str, dict[str, str]]]  # section -> field -> column -> plain text


def _same(committed: Path, fresh: str, command: str) -> None:
    text = committed.read_text(encoding="utf-8") if committed.is_file() else ""
    if text != fresh:
        diff = "".join(difflib.unified_diff(
            text.splitlines(keepends=True), fresh.splitlines(keepends=True),
            fromfile=f"{committed.relative_to(ROOT)} (committed)", tofile="fresh", n=2,
        ))
        pytest.fail(f"{committed.relative_to(ROOT)} is stale; regenerate it with `{command}`:\n{diff}", pytrace=False)


def _plain(token: Token) -> str:
    """What a reader sees in an inline run: text, code and link text, entities and escapes resolved."""
    return "".join(c.content if c.type in ("text", "code_inline") else " " if c.type == "softbreak" else "" for c in token.children or [])


def _prose(markdown: str) -> str:
    (paragraph,) = [t for t in _MD.parse(markdown) if t.type == "inline"]
    return " ".join(_plain(paragraph).split())


def _tables(markdown: str) -> Rows:
    """Every table by its `##` section, keyed by the field column; asserts each row has the four columns."""
    tokens = _MD.parse(markdown)
    rows: Rows = {}
    section = ""
    header: list[str] = []
    row: list[str] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            section = tokens[index + 1].content
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            row.append(_plain(tokens[index + 1]))
        elif token.type == "tr_close":
            if tokens[index - 1].type == "th_close":
                header = row
                assert header == ["field", "type", "default", "description"], (section, header)
            else:
                assert len(row) == 4, (section, row)
                rows.setdefault(section, {})[row[0]] = dict(zip(header, row))
    return rows


def _objects(schema: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield str(schema["title"]), schema
    yield from schema.get("$defs", {}).items()


@pytest.fixture(scope="module")
def reference() -> str:
    return api.spec_reference()


def test_committed_reference_is_current(reference: str) -> None:
    _same(DOCS / "spec.md", reference, REGENERATE)


def test_committed_schema_is_current() -> None:
    _same(DOCS / "platform.schema.json", api.json_schema_text(), SCHEMA_COMMAND)


def test_committed_schema_is_a_schema_the_shipped_profiles_satisfy() -> None:
    """The file users point `$schema` at, read by a real JSON Schema validator (not pydantic)."""
    schema = json.loads((DOCS / "platform.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    profiles = sorted((ROOT / "profiles").glob("*.yaml"))
    assert profiles
    for profile in profiles:
        errors = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(yaml.safe_load(profile.read_text(encoding="utf-8")))]
        assert not errors, (profile.name, errors)
    assert [e.message for e in validator.iter_errors({"name": "x"})], "an incomplete spec must not pass"


def test_committed_component_schema_is_current() -> None:
    _same(DOCS / "component.schema.json", catalog.json_schema_text(), catalog.SCHEMA_COMMAND)


def test_every_shipped_component_satisfies_the_component_schema() -> None:
    """docs/component.schema.json, read by a real JSON Schema validator, accepts every templates/*/component.yaml
    and points editors at itself from each; and it refuses what the loader refuses."""
    schema = json.loads((DOCS / "component.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted((ROOT / "templates").glob("*/component.yaml"))
    assert len(files) == len(load_catalog())
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert text.startswith(COMPONENT_MODELINE + "\n"), f"{path.relative_to(ROOT)}: first line must be `{COMPONENT_MODELINE}`"
        errors = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(yaml.safe_load(text))]
        assert not errors, (path.relative_to(ROOT).as_posix(), errors)
    good = yaml.safe_load((ROOT / "templates" / "postgres" / "component.yaml").read_text(encoding="utf-8"))
    for bad in ({**good, "dependson": []}, {**good, "delivery": "helm"}, {k: v for k, v in good.items() if k != "namespace"}):
        assert list(validator.iter_errors(bad)), f"the schema must refuse {sorted(set(bad) ^ set(good)) or bad['delivery']}"


def test_every_property_and_object_has_a_description() -> None:
    """Editors show these on hover and the reference prints them: an empty one is a hole in both."""
    missing = [f"{name} (object)" for name, obj in _objects(api.json_schema()) if not str(obj.get("description", "")).strip()]
    for name, obj in _objects(api.json_schema()):
        missing += [f"{name}.{key}" for key, prop in obj.get("properties", {}).items() if not str(prop.get("description", "")).strip()]
    assert not missing


def test_every_property_is_documented_with_its_description(reference: str) -> None:
    schema = api.json_schema()
    rows = _tables(reference)
    for name, obj in _objects(schema):
        assert name in rows, f"no section for {name}"
        assert set(rows[name]) == set(obj["properties"]), name
        for key, prop in obj["properties"].items():
            assert _prose(prop["description"]) in rows[name][key]["description"], (name, key)
            if key in obj.get("required", []):
                assert rows[name][key]["default"] == "required", (name, key)


def test_sections_follow_first_reference_and_links_resolve(reference: str) -> None:
    tokens = _MD.parse(reference)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2"]
    assert headings[:4] == ["Platform", "GitOps", "Tls", "Ingress"]
    assert headings.index("TcpExposure") == headings.index("Ingress") + 1  # a nested object follows its user
    assert sorted(headings[1:]) == sorted(api.json_schema()["$defs"])
    anchors = {h.lower() for h in headings}
    links = [c.attrs["href"] for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "link_open"]
    assert links and all(str(href).startswith("#") and str(href)[1:] in anchors for href in links), links


def test_types_and_defaults_read_like_the_yaml(reference: str) -> None:
    rows = _tables(reference)
    platform, app = rows["Platform"], rows["CustomApp"]
    assert platform["kubernetesVersion"]["default"] == "1.34.0"
    assert rows["Ingress"]["provider"] == {"field": "provider", "type": "nginx | gateway", "default": "nginx", "description": rows["Ingress"]["provider"]["description"]}
    assert (app["port"]["type"], app["port"]["default"]) == ("integer 1–65535", "8080")
    assert (app["readOnlyRootFilesystem"]["type"], app["readOnlyRootFilesystem"]["default"]) == ("boolean", "true")
    assert rows["Taint"]["value"]["default"] == '""'  # an empty string is shown, not left blank
    assert platform["components"]["type"] == "map of string → ComponentSettings"
    assert rows["Ingress"]["tcp"]["type"] == "list of TcpExposure"
    assert rows["Environment"]["domain"]["type"] == "string" and rows["Environment"]["domain"]["default"] == "—"  # `string or null`: optional
    assert rows["ResourceAmounts"]["cpu"]["type"] == "string or number"
    assert "Must match ^https://\\S+$." in rows["Environment"]["cluster"]["description"]
    assert "Used at: environments.<name>.components.<name>.resources" in _prose_of(reference, "Resources")


def _prose_of(markdown: str, section: str) -> str:
    """The paragraphs of one section, as plain text."""
    tokens = _MD.parse(markdown)
    out: list[str] = []
    inside = False
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            inside = tokens[index + 1].content == section
        elif inside and token.type == "inline" and tokens[index - 1].type == "paragraph_open":
            out.append(_plain(token))
    return "\n".join(out)


def test_the_generator_on_shapes_the_spec_does_not_use_yet() -> None:
    """Discriminated unions, const, pipes and angle brackets, a required nullable field, bounds."""
    schema = {
        "title": "Root",
        "type": "object",
        "additionalProperties": False,
        "required": ["sink", "mode", "note"],
        "properties": {
            "sink": {
                "description": "Where output goes.",
                "oneOf": [{"$ref": "#/$defs/File"}, {"$ref": "#/$defs/Http"}],
                "discriminator": {"propertyName": "kind", "mapping": {"file": "#/$defs/File", "http": "#/$defs/Http"}},
            },
            "mode": {"description": "a|b choice, see <docs>.", "enum": ["a|b", "c"], "type": "string"},
            "note": {"description": "Required but may be null.", "anyOf": [{"type": "string", "maxLength": 10}, {"type": "null"}]},
            "tags": {"description": "Tags.", "type": "array", "items": {"type": "string", "pattern": "^(x|y)$"}, "minItems": 1, "uniqueItems": True, "default": ["x"]},
            "ratio": {"description": "Ratio.", "type": "number", "exclusiveMinimum": 0, "default": 0.5},
        },
        "$defs": {
            "File": {"description": "A file.", "type": "object", "properties": {"kind": {"const": "file", "description": "Tag."}}, "required": ["kind"]},
            "Http": {"description": "A URL.", "type": "object", "properties": {"kind": {"const": "http", "description": "Tag."}}, "required": ["kind"]},
            "Orphan": {"description": "Referenced by nothing.", "type": "object", "properties": {}},
        },
    }
    markdown = reference_markdown(schema)
    rows = _tables(markdown)
    assert list(rows) == ["Root", "File", "Http"]  # the unreferenced definition is left out
    root = rows["Root"]
    assert root["sink"]["type"] == "File or Http, chosen by kind"
    assert root["mode"]["type"] == "a|b | c" and root["mode"]["description"] == "a|b choice, see <docs>."
    assert (root["note"]["type"], root["note"]["default"]) == ("string (at most 10 characters) or null", "required")
    assert (root["tags"]["type"], root["tags"]["default"]) == ("list of unique string (at least 1 item)", '["x"]')
    assert root["tags"]["description"] == "Tags. Each item must match ^(x|y)$."
    assert (root["ratio"]["type"], root["ratio"]["default"]) == ("number > 0", "0.5")
    assert rows["File"]["kind"]["type"] == "file"
    assert "Used at: sink" in _prose_of(markdown, "File")
    assert reference_markdown(schema) == markdown


# --- the command -------------------------------------------------------------------


def test_cli_prints_markdown_and_json(reference: str) -> None:
    markdown = bbgen("schema", "--format", "markdown")
    assert markdown.returncode == 0, markdown.stderr
    assert markdown.stdout == reference  # another process, another hash seed: same bytes
    plain = bbgen("schema")
    assert plain.stdout == bbgen("schema", "--format", "json").stdout == api.json_schema_text()
    assert "Examples:" in bbgen("schema", "--help").stdout


def test_cli_out_writes_atomically_and_reports(tmp_path: Path, reference: str) -> None:
    target = tmp_path / "spec.md"
    first = bbgen("schema", "--format", "markdown", "--out", str(target))
    assert first.returncode == 0, first.stderr
    assert first.stdout == "" and first.stderr == f"wrote {target}\n"
    assert target.read_text(encoding="utf-8") == reference
    again = bbgen("schema", "--format", "markdown", "--out", str(target))
    assert again.stderr == f"unchanged {target}\n"
    schema_file = tmp_path / "platform.schema.json"
    assert bbgen("schema", "--out", str(schema_file)).returncode == 0
    assert schema_file.read_text(encoding="utf-8") == api.json_schema_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["platform.schema.json", "spec.md"]  # no temp files left


def test_cli_bad_format_is_a_usage_error() -> None:
    for option in ("-o", "--output", "--format"):  # --format: the old name, kept for scripts and docs/spec.md's header
        result = bbgen("schema", option, "xml")
        assert result.returncode == 2
        assert "Invalid value for" in result.stderr and "'xml' is not one of 'json', 'yaml', 'markdown'" in result.stderr
        assert result.stdout == ""


def test_cli_out_into_a_missing_directory_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "spec.md"
    result = bbgen("schema", "--format", "markdown", "--out", str(target))
    assert result.returncode == 2
    assert "no such directory" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
    onto_dir = bbgen("schema", "--out", str(tmp_path))
    assert onto_dir.returncode == 2 and "is a directory" in onto_dir.stderr
    assert list(tmp_path.iterdir()) == []
