"""``python -m bbgen.catalog``: print docs/component.schema.json (see SCHEMA_COMMAND)."""

import sys

from bbgen.catalog import json_schema_text

sys.stdout.write(json_schema_text())
