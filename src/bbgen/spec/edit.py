"""Edit a spec file in place and keep its author's layout: the one set of ruamel round-trip settings.

`bbgen init` (starter) renames a profile's domain and realm; `bbgen promote` copies a
value from one environment's layer to another's. Both must write back a file that
differs from the original only where a value changed, so both use these settings
(a test holds that every shipped profile round-trips byte for byte).
"""

from __future__ import annotations

from typing import Any


def round_trip_yaml() -> Any:
    """A ruamel ``YAML`` that keeps quotes, line lengths, indentation and ``null`` as written."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line the author kept on one line
    yaml.indent(mapping=2, sequence=4, offset=2)
    # A layer's `null` removes a key (README, "Environments are layers"): keep it written, not an empty value.
    yaml.representer.add_representer(type(None), lambda rep, _none: rep.represent_scalar("tag:yaml.org,2002:null", "null"))
    return yaml


def same_style(original: Any, value: Any) -> Any:
    """``value`` in ``original``'s quoting: a quoted string stays quoted; anything else is left as it is."""
    from ruamel.yaml.scalarstring import ScalarString

    if isinstance(original, ScalarString) and isinstance(value, str):
        return type(original)(value)
    return value
