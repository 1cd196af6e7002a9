from __future__ import annotations

import json
import sys


def schema() -> None:
    """Print the JSON Schema of the platform spec.

    Point your editor at it: `bbgen schema > platform.schema.json`, then put
    `# yaml-language-server: $schema=platform.schema.json` on the spec's first line.
    """
    from bbgen import api

    sys.stdout.write(json.dumps(api.json_schema(), indent=2, sort_keys=True) + "\n")
