"""htpasswd lines for ingress-nginx basic auth, made with the standard library only.

Why SHA-512-crypt (``$6$``): nginx hands every hash it does not implement
itself to the C library's ``crypt()``, and both glibc and musl (the
ingress-nginx controller image is Alpine) implement ``$6$``. Python's stdlib
has no bcrypt, its ``crypt`` module is gone in 3.13, and ``{SHA}`` is one
unsalted SHA-1. SHA-512-crypt is salted and iterated, and it is specified
precisely enough (Drepper, "Unix crypt using SHA-256 and SHA-512") to be
written with :mod:`hashlib`. A slower hash (bcrypt) would buy nothing here:
nginx re-hashes on every request, and the passwords bbgen generates carry ~140
bits of randomness, far beyond any offline guessing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DEFAULT_ROUNDS = 5000
_LINE = re.compile(r"^(?P<user>[^:\n]+):\$6\$(?:rounds=(?P<rounds>\d+)\$)?(?P<salt>[^$\n]{0,16})\$(?P<hash>[./0-9A-Za-z]{86})$")


def _repeat(data: bytes, length: int) -> bytes:
    """``data`` cycled (or cut) to exactly ``length`` bytes."""
    return (data * (length // len(data) + 1))[:length] if data else b""


def _encode(digest: bytes) -> str:
    """The scheme's own base64: byte triples in a fixed permuted order, least significant bits first."""
    out: list[str] = []
    for i in range(21):
        a, b, c = i, i + 21, i + 42
        order = ((a, b, c), (b, c, a), (c, a, b))[i % 3]
        word = (digest[order[0]] << 16) | (digest[order[1]] << 8) | digest[order[2]]
        for _ in range(4):
            out.append(ALPHABET[word & 0x3F])
            word >>= 6
    word = digest[63]
    for _ in range(2):
        out.append(ALPHABET[word & 0x3F])
        word >>= 6
    return "".join(out)


def sha512_crypt(password: str, salt: str, rounds: int = DEFAULT_ROUNDS) -> str:
    """The ``$6$`` hash string of ``password`` (salt: up to 16 characters, no ``$``)."""
    pw = password.encode("utf-8")
    sa = salt.encode("utf-8")[:16]
    rounds = min(max(rounds, 1000), 999_999_999)
    alt = hashlib.sha512(pw + sa + pw).digest()
    ctx = hashlib.sha512(pw + sa + _repeat(alt, len(pw)))
    n = len(pw)
    while n:
        ctx.update(alt if n & 1 else pw)
        n >>= 1
    a = ctx.digest()
    p_bytes = _repeat(hashlib.sha512(pw * len(pw)).digest(), len(pw))
    s_bytes = _repeat(hashlib.sha512(sa * (16 + a[0])).digest(), len(sa))
    for i in range(rounds):
        c = hashlib.sha512()
        c.update(p_bytes if i & 1 else a)
        if i % 3:
            c.update(s_bytes)
        if i % 7:
            c.update(p_bytes)
        c.update(a if i & 1 else p_bytes)
        a = c.digest()
    prefix = "$6$" if rounds == DEFAULT_ROUNDS else f"$6$rounds={rounds}$"
    return f"{prefix}{sa.decode('utf-8')}${_encode(a)}"


def htpasswd_line(user: str, password: str, *, salt: str | None = None) -> str:
    """``user:$6$salt$hash``, the content ingress-nginx expects under the Secret key ``auth``."""
    salt = salt if salt is not None else "".join(secrets.choice(ALPHABET) for _ in range(16))
    return f"{user}:{sha512_crypt(password, salt)}"


def verify(line: str, user: str, password: str) -> bool:
    """True when ``line`` is a ``$6$`` htpasswd line for ``user`` matching ``password``."""
    match = _LINE.match(line.strip())
    if not match or match.group("user") != user:
        return False
    rounds = int(match.group("rounds") or DEFAULT_ROUNDS)
    expected = f"{user}:{sha512_crypt(password, match.group('salt'), rounds)}"
    return hmac.compare_digest(expected.encode(), line.strip().encode())
