"""The one SNMP credentials model: what the transports implement is kept as written, anything else is
rejected (never rewritten), secrets are references read only when a session opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkmargin.credentials import SecretError, SnmpCredentials


def test_credentials_rules() -> None:
    ok = SnmpCredentials.model_validate(
        {"version": 3, "user": "u", "auth": "sha", "auth_key_file": "/f", "priv": "aes", "priv_key_env": "P"}
    )
    assert ok.version == "3" and (ok.auth, ok.priv) == ("sha", "aes")
    for bad in (
        {"version": "2c"},
        {"version": 1, "community_env": "C"},  # GETBULK needs 2c or 3
        {"version": 3, "user": "u", "auth": "sha"},
        {"version": 3, "user": "u", "auth": "sha", "auth_key_env": "A", "priv": "aes"},
        {"version": 3, "user": "u", "auth_key_env": "A", "priv": "aes", "priv_key_env": "P"},  # no auth
        {"version": 3, "user": "u", "auth_key": "inline"},
        {"version": "2c", "community_env": "C", "password": "x"},
        {"version": "2c", "community": "public"},  # inline, from a file
        {"version": "2c", "community_env": "C", "community_file": "/f"},  # which one?
        {"version": "2c", "community_env": "C", "user": "u"},  # v3 settings on v2c
    ):
        with pytest.raises(ValueError):
            SnmpCredentials.model_validate(bad)


@pytest.mark.parametrize(
    ("auth", "priv"), [("md5", "des"), ("sha512", "aes256c"), ("sha224", "aes192"), ("sha384", "aes")]
)
def test_credentials_keep_what_was_written(auth: str, priv: str) -> None:
    """Every protocol the transports implement is kept as written: nothing is mapped to sha/aes."""
    doc = {"version": 3, "user": "u", "auth": auth, "auth_key_env": "A", "priv": priv, "priv_key_env": "P"}
    c = SnmpCredentials.model_validate(doc)
    assert (c.auth, c.priv) == (auth, priv)


@pytest.mark.parametrize(
    ("field", "value"), [("auth", "sha1"), ("auth", "md4"), ("priv", "aes128"), ("priv", "3des")]
)
def test_unsupported_protocols_are_rejected(field: str, value: str) -> None:
    doc = {"version": 3, "user": "u", "auth": "sha", "auth_key_env": "A", "priv": "aes", "priv_key_env": "P"}
    with pytest.raises(ValueError, match=f"{field} '{value}' is not supported"):
        SnmpCredentials.model_validate({**doc, field: value})


def test_secrets_are_read_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").write_text("auth-secret-1\n")
    monkeypatch.setenv("LM_PRIV", "priv-secret-2")
    c = SnmpCredentials.model_validate(
        {"version": 3, "user": "u", "auth": "sha", "auth_key_file": str(tmp_path / "a"), "priv": "aes",
         "priv_key_env": "LM_PRIV"}
    )  # fmt: skip
    assert "auth-secret-1" not in repr(c)  # only the references are held
    assert c.v3_keys() == ("auth-secret-1", "priv-secret-2")
    monkeypatch.delenv("LM_PRIV")
    with pytest.raises(SecretError, match="environment variable LM_PRIV is not set"):
        c.v3_keys()
