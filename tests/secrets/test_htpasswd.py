"""SHA-512-crypt htpasswd lines: byte-exact with the C library's crypt(), verifiable, salted."""

from __future__ import annotations

import shutil
import subprocess
import warnings

import pytest

from bbgen.secrets.htpasswd import DEFAULT_ROUNDS, htpasswd_line, sha512_crypt, verify

# The published test vectors of the SHA-crypt specification (Drepper).
VECTORS = [
    ("Hello world!", "saltstring", DEFAULT_ROUNDS, "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"),
    (
        "Hello world!", "saltstringsaltstring", 10000,
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
    ),
]
SAMPLES = [("x", "ab"), ("correct horse battery staple", "0123456789abcdef"), ("pässwörd€", "Zz./09"), ("y" * 200, "ABCDEFGHIJKLMNOP")]


@pytest.mark.parametrize(("password", "salt", "rounds", "expected"), VECTORS)
def test_specification_vectors(password: str, salt: str, rounds: int, expected: str) -> None:
    assert sha512_crypt(password, salt, rounds) == expected


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
@pytest.mark.parametrize(("password", "salt"), SAMPLES)
def test_matches_openssl(password: str, salt: str) -> None:
    done = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, password], capture_output=True, text=True, check=True)
    assert sha512_crypt(password, salt) == done.stdout.strip()


@pytest.mark.parametrize(("password", "salt"), SAMPLES)
def test_matches_libc_crypt_when_available(password: str, salt: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        crypt = pytest.importorskip("crypt")  # gone in Python 3.13; openssl covers it there
    assert sha512_crypt(password, salt) == crypt.crypt(password, f"$6${salt}")


def test_line_verifies_and_is_salted() -> None:
    first, second = htpasswd_line("admin", "pw-1"), htpasswd_line("admin", "pw-1")
    assert first.startswith("admin:$6$") and first != second
    assert verify(first, "admin", "pw-1") and verify(second, "admin", "pw-1")
    assert not verify(first, "admin", "pw-2")
    assert not verify(first, "root", "pw-1")
    assert not verify("admin:{SHA}abc", "admin", "pw-1")
    assert verify("admin:" + VECTORS[1][3], "admin", "Hello world!")
