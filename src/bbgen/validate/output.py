"""A validation report as CI systems read it: JSON for scripts, JUnit XML for test views.

Both formats carry the same facts as the text output. JUnit has no notion of a
warning, so a warning is written to the test case's ``system-out`` and the case
passes; errors are ``failure`` elements. Every validated object is a test case,
so a clean run shows how much was checked instead of an empty suite.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from bbgen.render.paths import OWNED_DIRS, PROJECTS_DIR
from bbgen.validate.findings import Finding, Report

JSON_FORMAT = "bbgen.validate/v1"
_FILE_CASE = "(file)"
_BUILD_CASE = "kustomize build"


def to_json(report: Report) -> str:
    """Stable, sorted JSON: the findings plus the counts a CI gate needs."""
    payload: dict[str, Any] = {
        "format": JSON_FORMAT,
        "ok": report.ok,
        "kubernetesVersion": report.kubernetes_version,
        "summary": {
            "builds": len(report.builds),
            "objects": len(report.checked),
            "errors": len(report.errors),
            "warnings": len(report.warnings),
        },
        "builds": report.builds,
        "findings": [
            {"severity": f.severity, "check": f.check, "file": f.file, "resource": f.resource, "message": f.message}
            for f in report.findings
        ],
        "requiredSecrets": report.required_secrets,
        "charts": report.charts,
    }
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def suite_of(path: str) -> str:
    """Group by what a person owns: ``components/<name>``, ``apps/<env>``, else the top folder."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] in OWNED_DIRS:
        return "/".join(parts[:2]) if parts[0] != PROJECTS_DIR else parts[0]
    return parts[0] if parts else "."


def to_junit(report: Report) -> str:
    """One testsuite per component or environment folder, one testcase per object (or file)."""
    cases: dict[tuple[str, str], list[Finding]] = {key: [] for key in report.checked}
    builds = set(report.builds)
    for build in builds:
        cases.setdefault((build, _BUILD_CASE), [])
    for finding in report.findings:
        whole = _BUILD_CASE if finding.file in builds else _FILE_CASE
        cases.setdefault((finding.file or ".", finding.resource or whole), []).append(finding)

    suites: dict[str, list[tuple[str, str, list[Finding]]]] = {}
    for (file, resource), found in sorted(cases.items()):
        suites.setdefault(suite_of(file), []).append((file, resource, found))

    root = ET.Element("testsuites", name="bbgen validate")
    total = failures = 0
    for name, members in sorted(suites.items()):
        suite = ET.SubElement(root, "testsuite", name=name)
        suite_failures = 0
        for file, resource, found in members:
            case = ET.SubElement(suite, "testcase", classname=file, name=resource)
            errors = [f for f in found if f.severity == "error"]
            warnings = [f for f in found if f.severity != "error"]
            for f in errors:
                failure = ET.SubElement(case, "failure", message=f"[{f.check}] {f.message}", type=f.check)
                failure.text = f.located()
            if warnings:
                out = ET.SubElement(case, "system-out")
                out.text = "\n".join(f"warning: {f.located()}" for f in warnings)
            suite_failures += 1 if errors else 0
        suite.set("tests", str(len(members)))
        suite.set("failures", str(suite_failures))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        total += len(members)
        failures += suite_failures
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
