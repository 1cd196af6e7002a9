"""What every catalog model shares: frozen, strict, documented by its attribute docstrings."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

_SECRET_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")


class _Meta(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=None, populate_by_name=True, frozen=True, use_attribute_docstrings=True)
