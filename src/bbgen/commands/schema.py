from __future__ import annotations

import sys


def schema() -> None:
    """Print the JSON Schema of the platform spec.

    Point your editor at it: `bbgen schema > platform.schema.json`, then put
    `# yaml-language-server: $schema=platform.schema.json` on the spec's first line.
    """
    from bbgen import api

    sys.stdout.write(api.json_schema_text())
