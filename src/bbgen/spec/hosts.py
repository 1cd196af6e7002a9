"""Host names as the spec means them, for every stage that turns a host label into a name.

It lives in ``spec`` (the bottom of the stages that read a platform) so the spec
checks and the renderers agree on what ``host: llm`` means without the checks
importing the renderers.
"""

from __future__ import annotations


def fqdn(host: str, domain: str) -> str:
    """`llm` → `llm.<domain>`; a name with dots is taken as given."""
    return host if "." in host else f"{host}.{domain}"
