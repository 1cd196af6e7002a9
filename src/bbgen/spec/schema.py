"""The spec's JSON Schema, for editors (yaml-language-server ``$schema``) and docs/spec.md.

Here rather than in :mod:`bbgen.api` because ``bbgen init`` (:mod:`bbgen.starter`)
writes the same text beside every new spec, and the starter sits below the api.
"""

from __future__ import annotations

import json
from typing import Any

from bbgen.spec.models import Platform

SCHEMA_ID = "https://bbgen.dev/schema/platform.json"


def json_schema() -> dict[str, Any]:
    """JSON Schema of the spec, generated from the pydantic models."""
    schema = Platform.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    return schema


def json_schema_text() -> str:
    """The schema as `bbgen schema` prints it and `bbgen init` writes it: one canonical text, so the files compare equal."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
