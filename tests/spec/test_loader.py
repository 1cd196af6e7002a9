"""Every way a spec can be wrong must come back as ``FILE:LINE:COL: path: message``.

The positions asserted here are counted by hand from the dedented YAML; they are
the contract people rely on when their editor jumps to an error.
"""

from __future__ import annotations

import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbgen.errors import EXIT_USAGE, SpecError
from bbgen.spec.loader import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    LoadedYaml,
    Positions,
    format_path,
    issue,
    load_spec,
    read_yaml,
    validate_model,
)
from bbgen.spec.models import Platform

VALID = """\
name: demo
domain: demo.example.org
gitops: {url: "https://git.example.org", owner: platform, repo: demo-gitops}
tls: {acmeEmail: ops@example.org}
"""


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors_of(path: Path, *, validate: bool = False) -> list[str]:
    with pytest.raises(SpecError) as caught:
        if validate:
            load_spec(path)
        else:
            read_yaml(path)
    lines = [str(i) for i in caught.value.issues]
    assert str(caught.value) == "\n".join(lines)
    return lines


def spec_errors(tmp_path: Path, text: str) -> list[str]:
    return errors_of(write(tmp_path, text), validate=True)


def only(lines: list[str]) -> str:
    assert len(lines) == 1, lines
    return lines[0]


# --------------------------------------------------------------------------- the file itself


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert only(errors_of(path)) == f"{path}:1:1: file not found"


def test_display_name_replaces_path(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        read_yaml(tmp_path / "nope.yaml", display_name="platform.yaml")
    assert str(caught.value) == "platform.yaml:1:1: file not found"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert only(errors_of(tmp_path)) == f"{tmp_path}:1:1: is a directory, not a file"


def test_spec_error_exits_with_usage_code(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        read_yaml(tmp_path / "nope.yaml")
    assert caught.value.exit_code == EXIT_USAGE == 2


def test_invalid_utf8_is_located_at_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"name: demo\ndomain: d\xc3\xa9mo\xff.org\n")
    assert only(errors_of(path)) == f"{path}:2:13: file is not valid UTF-8 (byte 0xff cannot be decoded)"


def test_utf16_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes("name: demo\n".encode("utf-16"))
    assert only(errors_of(path)) == f"{path}:1:1: file is UTF-16 or UTF-32 encoded; save it as UTF-8"


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: demo\n")
    loaded = read_yaml(path)
    assert loaded.data == {"name": "demo"}
    assert loaded.positions.key(("name",)) == (1, 1)


def test_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    assert only(errors_of(path)) == f"{path}:1:1: file is larger than 5 MiB; a spec should be a few KiB"


def test_control_character_is_located(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"name: demo\ndomain: a\x07b\n")
    assert only(errors_of(path)) == f"{path}:2:10: unacceptable character #x0007: special characters are not allowed"


# --------------------------------------------------------------------------- document shape


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n\n  # another\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert only(errors_of(path)) == (
        f"{path}:1:1: file is empty (it holds no YAML document, only blanks or comments)"
    )


def test_top_level_list(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        # a list is not a spec
        - name: demo
        - domain: x
        """)
    assert only(errors_of(path)) == (
        f"{path}:2:1: the top level of the file must be a mapping of keys to values, not a list"
    )


def test_top_level_scalar(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("\n\n   hello\n", encoding="utf-8")  # not dedented: the indent is the point
    assert only(errors_of(path)) == (
        f"{path}:3:4: the top level of the file must be a mapping of keys to values, not the string 'hello'"
    )


def test_top_level_null_after_document_marker(tmp_path: Path) -> None:
    path = write(tmp_path, "--- null\n")
    assert only(errors_of(path)) == (
        f"{path}:1:5: the top level of the file must be a mapping of keys to values, not null"
    )


def test_second_document(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        ---
        name: demo
        ---
        name: other
        """)
    assert only(errors_of(path)) == (
        f"{path}:3:1: only one YAML document is allowed per file (found a second one here)"
    )


def test_document_end_marker_alone_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, "name: demo\n...\n")
    assert read_yaml(path).data == {"name": "demo"}


# --------------------------------------------------------------------------- syntax


def test_syntax_error_mapping_value_in_plain_scalar(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: demo
        domain: a: b
        """)
    assert only(errors_of(path)) == f"{path}:2:10: YAML syntax error: mapping values are not allowed here"


def test_syntax_error_bad_indentation(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        gitops:
          url: https://git.example.org
         owner: platform
        """)
    assert only(errors_of(path)).startswith(
        f"{path}:3:2: YAML syntax error: expected <block end>, but found '<block mapping start>'"
        " (while parsing a block mapping at line 1, column 1)"
    )


def test_syntax_error_unterminated_quote(tmp_path: Path) -> None:
    path = write(tmp_path, 'name: "demo\n')
    assert only(errors_of(path)) == (
        f"{path}:2:1: YAML syntax error: found unexpected end of stream"
        " (while scanning a quoted scalar at line 1, column 7)"
    )


def test_syntax_error_tab_indentation(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("gitops:\n\turl: x\n", encoding="utf-8")
    assert only(errors_of(path)).startswith(f"{path}:2:1: YAML syntax error: found character")


# --------------------------------------------------------------------------- keys


def test_duplicate_key(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: demo
        domain: demo.example.org
        name: again
        """)
    assert only(errors_of(path)) == f"{path}:3:1: name: duplicate key 'name' (first defined on line 1)"


def test_nested_duplicate_keys_are_all_reported(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        gitops:
          url: a
          owner: b
          url: c
        tls: {acmeEmail: x, acmeEmail: y}
        """)
    assert errors_of(path) == [
        f"{path}:4:3: gitops.url: duplicate key 'url' (first defined on line 2)",
        f"{path}:5:21: tls.acmeEmail: duplicate key 'acmeEmail' (first defined on line 5)",
    ]


def test_non_string_keys(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: demo
        1: x
        components:
          null: {}
          true: {}
        """)
    assert errors_of(path) == [
        f"{path}:2:1: a mapping key must be a string, not 1 (put the key in quotes if it is meant as text)",
        f"{path}:4:3: components: a mapping key must be a string, not null"
        " (put the key in quotes if it is meant as text)",
        f"{path}:5:3: components: a mapping key must be a string, not true"
        " (put the key in quotes if it is meant as text)",
    ]


def test_collection_as_key(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: demo
        ? [a, b]
        : x
        """)
    assert only(errors_of(path)) == f"{path}:2:3: a mapping key must be a string, not a list"


def test_quoted_numeric_key_is_a_string(tmp_path: Path) -> None:
    path = write(tmp_path, "'1': x\n\"null\": y\n")
    assert read_yaml(path).data == {"1": "x", "null": "y"}


# --------------------------------------------------------------------------- tags and scalars


def test_yaml_12_core_schema(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        yes_: yes
        on_: on
        octal_like: 010
        octal: 0o10
        hex: 0x1F
        date: 2024-01-01
        underscores: 1_000
        float: -.5e3
        inf: -.inf
        version: 1.30
        quoted: "12"
        empty:
        tilde: ~
        bool: False
        folded: >
          a
          b
        """)
    assert read_yaml(path).data == {
        "yes_": "yes",
        "on_": "on",
        "octal_like": 10,
        "octal": 8,
        "hex": 31,
        "date": "2024-01-01",
        "underscores": "1_000",
        "float": -500.0,
        "inf": float("-inf"),
        "version": 1.3,
        "quoted": "12",
        "empty": None,
        "tilde": None,
        "bool": False,
        "folded": "a b\n",
    }


def test_standard_tags_are_applied(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        a: !!str 12
        b: !!int "0x10"
        c: !!float 2
        d: !!bool "true"
        e: !!null ""
        f: ! 12
        g: !!map {x: 1}
        h: !!seq [1]
        """)
    assert read_yaml(path).data == {
        "a": "12", "b": 16, "c": 2.0, "d": True, "e": None, "f": "12", "g": {"x": 1}, "h": [1],
    }


def test_unsupported_tags_are_located(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: demo
        domain: !!binary ZGVtbw==
        apps: !custom
          api: {}
        when: !!timestamp 2024-01-01
        """)
    allowed = "(only !!str, !!int, !!float, !!bool, !!null, !!map and !!seq are allowed)"
    assert errors_of(path) == [
        f"{path}:2:9: domain: unsupported tag !!binary {allowed}",
        f"{path}:3:7: apps: unsupported tag !custom on a mapping",
        f"{path}:5:7: when: unsupported tag !!timestamp {allowed}",
    ]


def test_tagged_value_that_does_not_fit_its_tag(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        a: !!int twelve
        b: !!bool yes
        """)
    assert errors_of(path) == [
        f"{path}:1:4: a: 'twelve' is not a valid !!int",
        f"{path}:2:4: b: 'yes' is not a valid !!bool (use true or false)",
    ]


def test_lone_surrogate_is_refused_and_message_stays_printable(tmp_path: Path) -> None:
    path = write(tmp_path, 'name: demo\n"k\\ud800\\u0007": "\\ud800"\n')
    lines = errors_of(path)
    assert lines == [
        f"{path}:2:1: text contains an unpaired UTF-16 surrogate escape, which is not valid Unicode",
        f'{path}:2:18: ["k\\ud800\\x07"]: text contains an unpaired UTF-16 surrogate escape,'
        " which is not valid Unicode",
    ]
    for line in lines:
        line.encode("utf-8")
        assert line.isprintable()


# --------------------------------------------------------------------------- anchors, aliases, limits


def test_anchors_aliases_and_merge_keys(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        defaults: &defaults
          replicas: 2
          resources: {limits: {memory: 1Gi}}
        apps:
          api:
            <<: *defaults
            image: api:1
          web:
            <<: [*defaults, {image: web:1}]
            replicas: 3
        copy: *defaults
        """)
    loaded = read_yaml(path)
    assert loaded.data["apps"] == {
        "api": {"image": "api:1", "replicas": 2, "resources": {"limits": {"memory": "1Gi"}}},
        "web": {"replicas": 3, "resources": {"limits": {"memory": "1Gi"}}, "image": "web:1"},
    }
    assert loaded.data["copy"] == loaded.data["defaults"]
    # Aliased copies are independent objects: mutating one must not change another.
    assert loaded.data["copy"] is not loaded.data["defaults"]
    pos = loaded.positions
    assert pos.key(("apps", "web", "replicas")) == (10, 5)  # the explicit key wins
    assert pos.key(("apps", "api", "replicas")) == (2, 3)  # merged: where it was written
    assert pos.value(("apps", "web", "image")) == (9, 29)
    assert pos.value(("copy",)) == (11, 7)  # the alias itself
    assert pos.value(("copy", "resources", "limits", "memory")) == (3, 32)


def test_merge_key_needs_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        apps:
          <<: [1]
        """)
    assert only(errors_of(path)) == (
        f"{path}:2:8: apps: the value of a merge key (<<) must be a mapping or a list of mappings"
    )


def test_alias_bomb_is_stopped_at_the_alias_that_overflows(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
        b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
        c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
        d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
        e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
        f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
        g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
        h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
        i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
        """)
    started = time.monotonic()
    # Nodes so far: lines 1-5 expand to 74,738; the first *e on line 6 adds 66,430.
    assert only(errors_of(path)) == f"{path}:6:8: alias *e makes the document larger than {MAX_NODES} nodes"
    assert time.monotonic() - started < 5


def test_too_many_plain_nodes(tmp_path: Path) -> None:
    path = write(tmp_path, "a: [" + "1," * MAX_NODES + "]\n")
    # root + key + list = 3 nodes, so item number MAX_NODES - 2 is the one over the limit.
    column = 5 + 2 * (MAX_NODES - 3)
    assert only(errors_of(path)) == f"{path}:1:{column}: this value makes the document larger than {MAX_NODES} nodes"


def test_recursive_alias(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: demo
        loop: &loop
          again: *loop
        """)
    assert only(errors_of(path)) == f"{path}:3:10: alias *loop refers to a node that contains it (recursive alias)"


def test_undefined_alias(tmp_path: Path) -> None:
    path = write(tmp_path, "name: *nope\n")
    assert only(errors_of(path)) == f"{path}:1:7: alias *nope refers to an anchor that is not defined before it"


def test_nesting_depth_is_bounded(tmp_path: Path) -> None:
    path = write(tmp_path, "a: " + "[" * 200 + "]" * 200 + "\n")
    # The root mapping is level 1; the first "[" (column 4) is level 2, so level 65 is at column 3 + 64.
    assert only(errors_of(path)) == f"{path}:1:{3 + MAX_DEPTH}: collections are nested deeper than {MAX_DEPTH} levels"


def test_nesting_through_aliases_is_bounded(tmp_path: Path) -> None:
    half = MAX_DEPTH // 2 + 5
    path = write(tmp_path, f"a: &deep {'[' * half}{']' * half}\nb: {'[' * half}*deep{']' * half}\n")
    assert only(errors_of(path)) == f"{path}:2:{4 + half}: alias *deep nests the document deeper than {MAX_DEPTH} levels"


def test_deep_but_allowed_nesting(tmp_path: Path) -> None:
    depth = MAX_DEPTH - 1
    path = write(tmp_path, "a: " + "[" * depth + "]" * depth + "\n")
    value = read_yaml(path).data["a"]
    for _ in range(depth - 1):
        value = value[0]
    assert value == []


# --------------------------------------------------------------------------- positions and paths


def test_positions_of_keys_and_values(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: demo
        apps:
          api:
            env:
              - name: A
                value: "1"
        """)
    pos = read_yaml(path).positions
    assert pos.key(("apps",)) == (2, 1)
    assert pos.value(("apps",)) == (3, 3)
    assert pos.key(("apps", "api", "env")) == (4, 5)
    assert pos.key(("apps", "api", "env", 0)) is None
    assert pos.value(("apps", "api", "env", 0)) == (5, 9)
    assert pos.value(("apps", "api", "env", 0, "value")) == (6, 16)
    assert pos.value(()) == (1, 1)
    assert pos.key(("nope",)) is None
    assert pos.value(("name", "deeper")) is None
    # Missing things fall back to the nearest existing ancestor's key.
    assert pos.locate(("apps", "api", "image")) == (3, 3)
    assert pos.locate(("apps", "api", "env", 0, "missing")) == (5, 9)
    assert pos.locate(("nothing", "here")) == (1, 1)
    assert Positions().locate(("x",)) == (1, 1)


def test_crlf_line_endings_count_once(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"name: demo\r\ndomain: x\r\n\r\ntls: {}\r\n")
    assert read_yaml(path).positions.key(("tls",)) == (4, 1)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ((), ""),
        (("apps", "api", "env", 0, "name"), "apps.api.env[0].name"),
        ((0, 1), "[0][1]"),
        (("settings", "a.b", "c d", ""), 'settings["a.b"]["c d"][""]'),
        (("k\x07",), '["k\\x07"]'),
        (('q"', "b\\"), '["q\\""]["b\\\\"]'),
    ],
)
def test_format_path(path: tuple[str | int, ...], expected: str) -> None:
    assert format_path(path) == expected


def test_issue_helper_locates_cross_field_problems(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: demo
        apps:
          api:
            dependsOn: [db, cache]
        """)
    loaded = read_yaml(path, display_name="spec.yaml")
    assert str(issue(loaded, ("apps", "api", "dependsOn", 1), "unknown app 'cache'")) == (
        "spec.yaml:4:21: apps.api.dependsOn[1]: unknown app 'cache'"
    )
    assert str(issue(loaded, ("apps", "api", "image"), "field required")) == (
        "spec.yaml:3:3: apps.api.image: field required"
    )
    assert str(issue(loaded, (), "whole file")) == "spec.yaml:1:1: whole file"


def test_loading_twice_gives_equal_data(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "apps:\n  api: {image: 'a:1', env: [{name: A, value: b}]}\n")
    first, second = read_yaml(path), read_yaml(path)
    assert first.data == second.data
    assert first.file == second.file == str(path)
    assert load_spec(path) == load_spec(path)


def test_data_is_plain_python(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        a: &x {b: [1, 2.5, true, null, "s", 2024-01-01]}
        c: *x
        """)
    seen: list[type] = []

    def walk(value: object) -> None:
        seen.append(type(value))
        if isinstance(value, dict):
            assert all(type(k) is str for k in value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(read_yaml(path).data)
    assert set(seen) <= {dict, list, str, int, float, bool, type(None)}


# --------------------------------------------------------------------------- validation against the models


def test_load_valid_spec(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, VALID))
    assert isinstance(spec, Platform)
    assert spec.name == "demo"
    assert spec.tls.acme_email == "ops@example.org"


def test_unknown_field_with_suggestion(tmp_path: Path) -> None:
    lines = spec_errors(tmp_path, VALID.replace("tls: {acmeEmail", "tls: {acmeEmial: x, acmeEmail"))
    assert lines == [f"{tmp_path / 'spec.yaml'}:4:7: tls.acmeEmial: unknown field; did you mean 'acmeEmail'?"]


def test_unknown_field_snake_case_suggests_camel_case(tmp_path: Path) -> None:
    lines = spec_errors(tmp_path, VALID + "node_poolz: {}\n")
    assert lines == [f"{tmp_path / 'spec.yaml'}:5:1: node_poolz: unknown field; did you mean 'nodePools'?"]


def test_unknown_field_without_close_match(tmp_path: Path) -> None:
    lines = spec_errors(tmp_path, VALID.replace("repo: demo-gitops", "repo: demo-gitops, zzz: 1"))
    assert lines == [
        f"{tmp_path / 'spec.yaml'}:3:78: gitops.zzz: unknown field (allowed here: url, owner, repo, branch, mode, hub)"
    ]


def test_missing_required_field_points_at_parent_key(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        name: demo
        domain: demo.example.org
        gitops:
          url: https://git.example.org
          owner: platform
        tls: {acmeEmail: ops@example.org}
        """)
    assert only(errors_of(path, validate=True)) == f"{path}:3:1: gitops.repo: field required"


def test_missing_top_level_field_points_at_document_start(tmp_path: Path) -> None:
    path = write(tmp_path, "\n" + VALID.replace("name: demo\n", ""))
    assert only(errors_of(path, validate=True)) == f"{path}:2:1: name: field required"


def test_missing_field_in_list_item_points_at_item(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + textwrap.dedent("""\
        apps:
          api:
            image: api:1
            secretEnv:
              - name: A
                secret: api-secrets
        """))
    assert only(errors_of(path, validate=True)) == f"{path}:9:9: apps.api.secretEnv[0].key: field required"


def test_wrong_types(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + textwrap.dedent("""\
        kubernetesVersion: 1.34
        ingress: nginx
        apps:
          api:
            image: api:1
            port: http
            replicas: [1]
        """))
    assert errors_of(path, validate=True) == [
        f"{path}:5:20: kubernetesVersion: Input should be a string, got the number 1.34"
        " (put the value in quotes to keep it as text)",
        f"{path}:6:10: ingress: Input should be a mapping, got the string 'nginx'",
        f"{path}:10:11: apps.api.port: Input should be an integer, got the string 'http'",
        f"{path}:11:15: apps.api.replicas: Input should be an integer, got a list",
    ]


def test_union_errors_are_combined(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + textwrap.dedent("""\
        components:
          postgres:
            storage: [20Gi]
            resources: {limits: {cpu: 1.5}}
            settings:
              ok: [1, two, 3.0, true]
              nested: [1, {a: 1}]
              map: {}
        """))
    assert errors_of(path, validate=True) == [
        f"{path}:7:14: components.postgres.storage: Input should be a string, an integer or a number, got a list",
        f"{path}:11:19: components.postgres.settings.nested[1]: Input should be a string, an integer,"
        " a number or a boolean, got a mapping",
        f"{path}:12:12: components.postgres.settings.map: Input should be a string, an integer, a number,"
        " a boolean or a list, got a mapping",
    ]


def test_validator_errors_lose_the_pydantic_prefix(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("name: demo", "name: Demo_1") + textwrap.dedent("""\
        apps:
          api:
            image: api:1
            env: [{name: 1x, value: v}]
        tls2: x
        """))
    lines = errors_of(path, validate=True)
    assert lines[0] == (
        f"{path}:1:7: name: 'Demo_1' is not a DNS-1123 label (lower-case letters, digits and '-',"
        " starting and ending with a letter or digit, at most 63 characters)"
    )
    assert f"{path}:8:18: apps.api.env[0].name: '1x' is not a valid environment variable name" in lines
    assert all("Value error" not in line and "http" not in line.split(": ", 1)[1] for line in lines)


def test_invalid_dict_key_points_at_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + textwrap.dedent("""\
        apps:
          Bad_Name:
            image: api:1
        """))
    assert only(errors_of(path, validate=True)) == (
        f"{path}:6:3: apps.Bad_Name: invalid key: 'Bad_Name' is not a DNS-1123 label (lower-case letters,"
        " digits and '-', starting and ending with a letter or digit, at most 63 characters)"
    )


def test_literal_and_pattern_errors(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("{acmeEmail: ops@example.org}", "{acmeEmail: nope, issuer: live}"))
    assert errors_of(path, validate=True) == [
        f"{path}:4:18: tls.acmeEmail: String should match pattern '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'",
        f"{path}:4:32: tls.issuer: Input should be 'staging' or 'prod'",
    ]


def test_snake_case_field_name_is_one_unknown_field(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("acmeEmail: ops@example.org", "acme_email: 5"))
    assert only(errors_of(path, validate=True)) == (
        f"{path}:4:7: tls.acme_email: unknown field; did you mean 'acmeEmail'?"
    )


def test_loose_scalars_are_rejected_by_strict_types(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "apps:\n  api:\n    image: api:1\n    port: true\n    enabled: \"on\"\n")
    assert errors_of(path, validate=True) == [
        f"{path}:8:11: apps.api.port: Input should be an integer, got the boolean true",
        f"{path}:9:14: apps.api.enabled: Input should be a boolean, got the string 'on'",
    ]


def test_errors_inside_aliases_are_located_at_the_anchor(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + textwrap.dedent("""\
        apps:
          api: &app
            image: api:1
            port: 0
          web: *app
        """))
    # One mistake, two paths that use it: both are listed, both at the anchored text.
    assert errors_of(path, validate=True) == [
        f"{path}:8:11: apps.api.port: Input should be greater than or equal to 1",
        f"{path}:8:11: apps.web.port: Input should be greater than or equal to 1",
    ]


def test_validate_model_collects_and_sorts_everything(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        tls: {}
        gitops: {}
        name: X
        """)
    lines = errors_of(path, validate=True)
    assert lines == [
        f"{path}:1:1: domain: field required",
        f"{path}:1:1: tls.acmeEmail: field required",
        f"{path}:2:1: gitops.owner: field required",
        f"{path}:2:1: gitops.repo: field required",
        f"{path}:2:1: gitops.url: field required",
        f"{path}:3:7: name: 'X' is not a DNS-1123 label (lower-case letters, digits and '-',"
        " starting and ending with a letter or digit, at most 63 characters)",
    ]


def test_validate_model_with_any_loaded_yaml() -> None:
    loaded = LoadedYaml(file="mem.yaml", data={"name": "demo"}, positions=Positions())
    with pytest.raises(SpecError) as caught:
        validate_model(Platform, loaded)
    assert [str(i) for i in caught.value.issues][0] == "mem.yaml:1:1: domain: field required"


# --------------------------------------------------------------------------- never a traceback

_YAMLISH = st.lists(
    st.sampled_from([
        "a", "b", ":", ": ", "- ", "-", "\n", "  ", "\t", "[", "]", "{", "}", ",", "&x ", "*x", "*y", "&y ",
        "<<", "? ", "!!str ", "!!int ", "!t ", "!", "'", '"', "#", "---", "...", "%YAML 1.2\n", "|", ">",
        "\\u0000", "\\ud800", "1", "null", "~", "true", ".inf", "0x", "@", "`", "\r", "\x85", "\u2028", "é",
    ]),
    max_size=60,
).map("".join)


def _read_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            loaded = read_yaml(path)
        except SpecError as exc:
            assert exc.issues
            for item in exc.issues:
                assert item.line >= 1 and item.column >= 1
                str(item).encode("utf-8")
            return
        assert isinstance(loaded.data, dict)
        try:
            validate_model(Platform, loaded)
        except SpecError:
            pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_arbitrary_text_only_raises_spec_error(text: str) -> None:
    _read_text(text)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_YAMLISH)
def test_yaml_like_text_only_raises_spec_error(text: str) -> None:
    _read_text(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=100))
def test_arbitrary_bytes_only_raise_spec_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_bytes(raw)
        try:
            read_yaml(path)
        except SpecError as exc:
            for item in exc.issues:
                str(item).encode("utf-8")
