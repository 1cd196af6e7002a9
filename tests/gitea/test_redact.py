"""bbgen.redact, the one redaction point, and the token/URL checks in front of every Gitea call (no server needed)."""

from __future__ import annotations

import pytest

from bbgen import redact
from bbgen.gitea import GiteaError, plain_url, usable_token


@pytest.fixture(autouse=True)
def _fresh() -> None:
    redact.forget_all()


def test_known_values_are_masked_in_every_form() -> None:
    token = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
    redact.register(token + "\r")
    for text in (f"header token {token}", f"b'token {token}\\r'", f"Invalid header value {token}\r"):
        assert token not in redact.redact(text)
    assert redact.redact("pushed 0123abc to main") == "pushed 0123abc to main"


def test_patterns_mask_secrets_bbgen_never_saw() -> None:
    assert redact.redact("Authorization: token s3cr3t-value") == "Authorization: token ***"
    assert redact.redact("fatal: unable to access 'https://bob:hunter22@git.example.org/x.git'") == (
        "fatal: unable to access 'https://***@git.example.org/x.git'"
    )
    shaped = "gh" + "p_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    assert shaped not in redact.redact(f"remote said {shaped}")


def test_environment_safety_net(monkeypatch: pytest.MonkeyPatch) -> None:
    redact.register_environment({"MY_GITEA_TOKEN": "tok-0123456789", "HOME": "/home/someone"})
    assert redact.redact("x tok-0123456789 /home/someone") == "x *** /home/someone"


def test_token_is_trimmed_or_refused_without_echo() -> None:
    assert usable_token("abcdef0123456789\r\n") == "abcdef0123456789"
    for bad in ("abcdef01\r23456789", "abcdef01 23456789", "  \r\n"):
        with pytest.raises(GiteaError) as caught:
            usable_token(bad)
        assert "abcdef01" not in str(caught.value)


def test_credentials_in_a_url_are_refused_without_echo() -> None:
    with pytest.raises(GiteaError) as caught:
        plain_url("http://user:pa55word-x@git.example.org")
    assert "pa55word-x" not in str(caught.value) and "must not carry credentials" in str(caught.value)
    assert plain_url("https://git.example.org/") == "https://git.example.org/"
    with pytest.raises(GiteaError):
        plain_url("git.example.org")
