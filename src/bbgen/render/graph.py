"""The platform as a Mermaid flowchart, drawn from the same units the render uses.

Nothing here is drawn by hand: domains become subgraphs, public hosts and TCP
exposures become edges from the edge node, and every dependency (including a
role such as `llm`, and the Keycloak link an OIDC client adds) becomes a data
flow. A disabled component is not a unit, so it is not in the picture. Gitea
renders Mermaid, which is why the generated README embeds the same text.
"""

from __future__ import annotations

import re

from bbgen.kube.names import fqdn
from bbgen.render.units import KEYCLOAK, Unit
from bbgen.spec.models import Platform

_EDGE = "n_edge"


def _id(name: str) -> str:
    """Mermaid node ids: letters, digits and underscores; prefixed so `end` or `graph` never clash with keywords."""
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


# Mermaid entity codes for what a label must not carry raw: `#` starts an entity code, `"` ends the label,
# `<`, `>` and `&` would be markup in the HTML label (and in the README Gitea renders), "`" opens Markdown.
_ENTITIES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;"}


def _escape(text: str) -> str:
    return "".join(_ENTITIES.get(ch, ch) for ch in text)


def _label(*lines: str) -> str:
    """A quoted label; each line is text (escaped), joined by Mermaid's own line break."""
    return '"' + "<br/>".join(_escape(line) for line in lines) + '"'


def _node(unit: Unit) -> str:
    detail = unit.image.rsplit("/", 1)[-1] if unit.image else (f"chart {unit.chart_version}" if unit.chart_version else unit.delivery)
    return f"    {_id(unit.name)}[{_label(unit.name, detail)}]"


def _flow_label(unit: Unit, dep: str) -> str:
    roles = sorted(role for role, provider in unit.roles.items() if provider == dep)
    if roles:
        return roles[0]
    if dep == KEYCLOAK and unit.oidc is not None:
        return "OIDC"
    return ""


def mermaid(platform: Platform, units: dict[str, Unit], env: str = "prod") -> str:
    """The flowchart text (without the ``` fence), deterministic for a given spec."""
    domain = platform.env_domain(env)
    edge = "NGINX ingress" if platform.ingress.provider == "nginx" else "Gateway"
    lines = ["flowchart LR", f"  {_EDGE}([{_label(f'Internet → {edge} ({domain})')}])"]
    by_domain: dict[str, list[Unit]] = {}
    for unit in units.values():
        by_domain.setdefault(unit.domain, []).append(unit)
    for name in sorted(by_domain):
        lines.append(f"  subgraph {_id('domain_' + name)}[{_label(name)}]")
        lines.extend(_node(u) for u in sorted(by_domain[name], key=lambda u: u.name))
        lines.append("  end")
    for unit in sorted(units.values(), key=lambda u: (fqdn(u.host_label, domain) if u.host_label else "", u.name)):
        if unit.host_label:
            lines.append(f"  {_EDGE} -->|{_label(fqdn(unit.host_label, domain))}| {_id(unit.name)}")
    for tcp in sorted(platform.ingress.tcp, key=lambda t: t.port):
        if tcp.component in units:
            lines.append(f"  {_EDGE} -.->|{_label(f'TCP {tcp.port}')}| {_id(tcp.component)}")
    for unit in sorted(units.values(), key=lambda u: u.name):
        for dep in unit.depends_on:
            if dep not in units:
                continue
            label = _flow_label(unit, dep)
            arrow = f"-->|{_label(label)}|" if label else "-->"
            lines.append(f"  {_id(unit.name)} {arrow} {_id(dep)}")
    return "\n".join(lines) + "\n"
