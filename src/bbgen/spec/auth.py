"""The authentication decision of a public host: what stands between the internet and the unit.

Every public host must have one (issue #17): basic auth or OIDC set in the spec,
a login the component declares in its component.yaml (`login`), or the spec's
explicit `public: true`. The spec checks refuse a host without any, the render
writes the decision on the route (`bbgen.dev/auth`) and `bbgen validate` reads it
back, so the three can never disagree about which hosts are open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from bbgen.catalog import Login

Decision = Literal["basic", "oidc", "builtin", "token", "app", "public"]
ANNOTATION = "bbgen.dev/auth"
"""The route annotation carrying the decision."""
DECISIONS: tuple[Decision, ...] = ("basic", "oidc", "builtin", "token", "app", "public")


def login_applies(login: Login | None, settings: Mapping[str, Any]) -> bool:
    """Whether the component's own login is on with these (merged) settings."""
    return login is not None and all(settings.get(key) == value for key, value in login.when.items())


def decide(*, basic: bool, oidc: bool, login: Login | None, settings: Mapping[str, Any], public: bool, app: bool = False) -> Decision | None:
    """The outermost protection of the host, or None: no decision, a spec error.

    Basic auth and an OIDC sign-in sit in front of whatever the unit does itself, so
    they win over its own login; `public: true` counts only when nothing protects it.
    A custom app's own code may authenticate its callers in ways bbgen cannot see, so
    an app without any of these is `app` (validate lists it as a warning), never an error.
    """
    if basic:
        return "basic"
    if oidc:
        return "oidc"
    if login is not None and login_applies(login, settings):
        return login.kind
    if public:
        return "public"
    return "app" if app else None



def unguarded(docs: Iterable[Any], env: str) -> list[str]:
    """What `bbgen render` warns about: each route of ``env`` whose host is open on purpose or left to an app's own code."""
    out: set[str] = set()
    for doc in docs:
        meta = doc.get("metadata") if isinstance(doc, dict) else None
        notes = meta.get("annotations") if isinstance(meta, dict) else None
        decision = notes.get(ANNOTATION) if isinstance(notes, dict) else None
        if decision not in ("public", "app") or not isinstance(meta, dict):
            continue
        spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
        hosts = spec.get("hostnames") or [r.get("host") for r in spec.get("rules") or [] if isinstance(r, dict)]
        why = "without authentication (public: true)" if decision == "public" else "with only the custom app's own authentication"
        route = f"{doc.get('kind')}/{meta.get('namespace')}/{meta.get('name')}"
        out.update(f"environment {env}: host {h} ({route}) is served {why}" for h in hosts if isinstance(h, str) and h)
    return sorted(out)
