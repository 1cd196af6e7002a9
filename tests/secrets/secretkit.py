"""Helpers for the secrets tests (a plain module: `conftest` names collide across test dirs).

Token-shaped values are assembled here at run time from a seeded generator, so
the repository never contains a string that a secret scanner (or our own guard)
would take for a live credential.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"

SPEC_WITH_APPS = """\
name: demo
domain: demo.example.org
gitops: {url: "https://git.example.org", owner: platform, repo: demo-gitops}
tls: {acmeEmail: ops@example.org}
components:
  cert-manager: {}
  cluster-issuers: {}
  postgres: {}
  redis: {}
  qdrant:
    basicAuth: {enabled: true}
apps:
  api:
    image: registry.example.org/demo/api:1.0.0
    namespace: apps
    host: api
    dependsOn: [postgres, redis]
    basicAuth: {enabled: true}
    secretEnv:
      - {name: STRIPE_KEY, secret: api-external, key: stripe-key}
      - {name: REDIS_AGAIN, secret: redis-api, key: password}
  worker:
    image: registry.example.org/demo/worker:1.0.0
    namespace: db
    dependsOn: [postgres]
"""


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def tokens(seed: int = 6) -> dict[str, str]:
    """Placeholder name → a value of that shape, the same for every run."""
    rng = random.Random(seed)
    alnum = string.ascii_letters + string.digits
    body = "\n".join(_rand(rng, alnum + "+/", 64) for _ in range(6))
    pem = "-----BEGIN " + "RSA PRIVATE KEY-----\n" + body + "\n-----END " + "RSA PRIVATE KEY-----\n"
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps({"sub": "svc", "iat": 1700000000}).encode())
    key = "aZ9" + _rand(rng, alnum, 37)
    values = {
        "GHP": "gh" + "p_" + _rand(rng, alnum, 36),
        "GHPAT": "github" + "_pat_" + _rand(rng, alnum, 22) + "_" + _rand(rng, alnum, 59),
        "GLPAT": "gl" + "pat-" + _rand(rng, alnum, 20),
        "AKIA": "AK" + "IA" + _rand(rng, string.ascii_uppercase + string.digits, 16),
        "SLACK": "xo" + "xb-" + _rand(rng, string.digits, 12) + "-" + _rand(rng, alnum, 24),
        "JWT": f"{header}.{payload}.{_b64url(rng.randbytes(32))}",
        "HEX40": _rand(rng, "0123456789abcdef", 40),
        "B64KEY": key,
        "PASSWORD": "pw-" + _rand(rng, alnum, 20),
        "PEM": pem,
    }
    values["B64PASSWORD"] = base64.b64encode(values["PASSWORD"].encode()).decode()
    values["B64PEM"] = base64.b64encode(pem.encode()).decode()
    return values


def fill(node: Any, values: dict[str, str]) -> Any:
    """Substitute every ``@@NAME@@`` in the strings of ``node``."""
    if isinstance(node, dict):
        return {fill(k, values): fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [fill(v, values) for v in node]
    if isinstance(node, str):
        for name, value in values.items():
            node = node.replace(f"@@{name}@@", value)
    return node


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None)
)


def dump(doc: Any) -> bytes:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False).encode()


@dataclass(frozen=True)
class Case:
    id: str
    file: str
    resource: str
    field: str
    reason: str
    secret: str
    data: bytes


def load_cases(name: str) -> list[Case]:
    """The corpus file ``name`` with placeholders filled in."""
    values = tokens()
    raw = yaml.safe_load((CORPUS / name).read_text(encoding="utf-8"))
    out: list[Case] = []
    for case in raw["cases"]:
        if "text" in case:
            data = fill(case["text"], values).encode()
        else:
            data = dump(fill(case["doc"], values))
        out.append(
            Case(
                id=case["id"], file=case["file"], resource=case.get("resource", ""), field=case.get("field", ""),
                reason=case.get("reason", ""), secret=fill(case.get("secret", ""), values), data=data,
            )
        )
    return out
