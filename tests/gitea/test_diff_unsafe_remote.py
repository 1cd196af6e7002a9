"""`diff --remote --fail-on-unsafe`: the in-place check runs on the Gitea branch's render too (fetched with git)."""

from __future__ import annotations

import json

from faults_support import Runs
from gitea_server import GiteaServer
from test_push import REFERENCE, target


def test_a_frozen_field_against_the_branch_exits_3_and_names_it(gitea: GiteaServer, runs: Runs, tools: dict[str, str]) -> None:
    where = target(gitea, gitea.admin_user, "unsafe")
    assert runs("push-to-gitea", str(REFERENCE), *where, "--create").returncode == 0
    spec = runs.scratch / "bigger.yaml"
    text = REFERENCE.read_text(encoding="utf-8")
    assert "  neo4j:\n    storage: 50Gi\n" in text
    spec.write_text(text.replace("  neo4j:\n    storage: 50Gi\n", "  neo4j:\n    storage: 200Gi\n"), encoding="utf-8")
    done = runs("diff", str(spec), "--remote", "--fail-on-unsafe", "--stat", "-o", "json", *where)
    assert done.returncode == 3, done.stderr
    found = {(u["environment"], u["kind"], u["name"], u["field"], u["old"], u["new"]) for u in json.loads(done.stdout)["unsafe"]}
    field = "spec.volumeClaimTemplates[0].spec.resources.requests.storage"
    assert {(env, "StatefulSet", "neo4j", field, "50Gi", "200Gi") for env in ("prod", "staging")} <= found
    assert runs("diff", str(REFERENCE), "--remote", "--fail-on-unsafe", *where).returncode == 0
    runs.check_nothing_leaked()


def test_a_pull_request_body_names_what_cannot_be_synced_in_place(gitea: GiteaServer, runs: Runs, tools: dict[str, str]) -> None:
    owner, repo = gitea.admin_user, "unsafe-pr"
    where = target(gitea, owner, repo)
    assert runs("push-to-gitea", str(REFERENCE), *where, "--create").returncode == 0
    spec = runs.scratch / "bigger.yaml"
    spec.write_text(REFERENCE.read_text(encoding="utf-8").replace("  neo4j:\n    storage: 50Gi\n", "  neo4j:\n    storage: 200Gi\n"), encoding="utf-8")
    opened = runs("push-to-gitea", str(spec), *where, "--pr")
    assert opened.returncode == 0, opened.stderr
    (pull,) = gitea.api("GET", f"/repos/{owner}/{repo}/pulls?state=open", expect=200).json()
    body = pull["body"]
    assert "Cannot be applied in place (" in body
    assert "- `!` prod: StatefulSet graph/neo4j `spec.volumeClaimTemplates[0].spec.resources.requests.storage`: `50Gi` -> `200Gi`" in body
    assert "--cascade=orphan" in body
    runs.check_nothing_leaked()
