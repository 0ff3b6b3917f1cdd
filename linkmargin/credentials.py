"""SNMP credentials: the one model the inventory, the collector config and the SNMP transports share.

Secrets are references: ``*_env`` names an environment variable, ``*_file`` a file; the secret is read
only when a session opens (:meth:`SnmpCredentials.community_secret`, :meth:`SnmpCredentials.v3_keys`)
and never appears in a repr or a message. A file never holds a secret inline; code (tests, the CLI's
``poll --community``) may pass a v2c community through :meth:`SnmpCredentials.v2c`.

The protocol names are exactly what both of the collector's transports (gufo_snmp 0.13, pysnmp 7)
implement, each checked against net-snmp's snmpd (tests/collector/test_transport.py). Anything else is
rejected when the file is validated, with its position; nothing is mapped to something "close".

- ``version``: ``2c`` or ``3``. SNMPv1 is rejected: the collector walks tables with GETBULK, which v1
  lacks. SNMPv3 is authPriv only (user, auth, priv and both keys): nothing weaker crosses the network.
- ``auth``: md5, sha (SHA-1), sha224, sha256, sha384, sha512 (RFC 3414, RFC 7860).
- ``priv``: des, aes (AES-128-CFB, RFC 3826), aes192 and aes256 (key extension of
  draft-blumenthal-aes-usm-04, net-snmp's AES-192 / AES-256), aes192c and aes256c (the Cisco/Reeder
  key extension of draft-reeder-snmpv3-usm-3desede-00, net-snmp's AES-192-C / AES-256-C). The two key
  extensions differ when the auth hash is shorter than the AES key (md5 or sha with aes192/aes256):
  pick the one the device uses. 3DES (pysnmp only) is not offered.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator

__all__ = [
    "AUTH_PROTOCOLS",
    "PRIV_PROTOCOLS",
    "AuthProtocol",
    "GnmiCredentials",
    "PrivProtocol",
    "SecretError",
    "SnmpCredentials",
    "read_secret",
    "secret_ref_problem",
]

AuthProtocol = Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"]
PrivProtocol = Literal["des", "aes", "aes192", "aes192c", "aes256", "aes256c"]
AUTH_PROTOCOLS: tuple[str, ...] = get_args(AuthProtocol)
PRIV_PROTOCOLS: tuple[str, ...] = get_args(PrivProtocol)
# names people write for a supported protocol: named in the error, never accepted in its place
_SPELLED = {
    "sha1": "sha",
    "sha-1": "sha",
    "aes128": "aes",
    "aes-128": "aes",
    "aes-192": "aes192",
    "aes-256": "aes256",
    "aes-192-c": "aes192c",
    "aes-256-c": "aes256c",
}
_UNSUPPORTED = {"3des": "pysnmp has 3DES, gufo_snmp, the default transport, does not"}
_SECRETS = ("community", "auth_key", "priv_key")
_INLINE_OK = "inline_secrets_ok"  # validation context key set only by SnmpCredentials.v2c


class SecretError(Exception):
    """A referenced secret cannot be read (variable unset, file missing or unreadable, empty)."""


def read_secret(env: str | None, path: str | None, what: str) -> str | None:
    """The secret behind an env var or file reference (a file's trailing newline dropped), or None."""
    if env:
        val = os.environ.get(env)
        if val is None:
            raise SecretError(f"{what}: environment variable {env} is not set")
        return val
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(f"{what}: cannot read secret file {path}: {exc.strerror}") from None
    return None


def secret_ref_problem(field: str, ref: str) -> str | None:
    """Why the secret behind reference ``ref`` (a ``*_env`` or ``*_file`` field) cannot be read now.

    Checks existence and permission only: the secret itself is never read into a message.
    """
    if field.endswith("_env"):
        return None if ref in os.environ else f"environment variable {ref} is not set"
    p = Path(ref)
    if not p.is_file():
        return f"secret file {ref} {'is a directory' if p.is_dir() else 'does not exist'}"
    if not os.access(p, os.R_OK):
        return f"secret file {ref} is not readable by this user"
    return None


def _choice(kind: str, v: object, allowed: tuple[str, ...]) -> object:
    if v is None or v in allowed:
        return v
    text = str(v)
    if (same := _SPELLED.get(text.lower())) is not None:
        hint = f" (write {same!r})"
    elif (why := _UNSUPPORTED.get(text.lower())) is not None:
        hint = f" ({why})"
    else:
        close = difflib.get_close_matches(text.lower(), allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
    supported = ", ".join(allowed)
    raise ValueError(
        f"{kind} {text!r} is not supported by the collector's SNMP transports{hint}; one of: {supported}"
    )


class SnmpCredentials(BaseModel):
    """How to authenticate to an SNMP agent: v2c community or v3 authPriv, secrets by reference."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal["2c", "3"]
    community_env: str | None = None
    community_file: str | None = None
    user: str | None = None
    auth: AuthProtocol | None = None
    auth_key_env: str | None = None
    auth_key_file: str | None = None
    priv: PrivProtocol | None = None
    priv_key_env: str | None = None
    priv_key_file: str | None = None
    # a literal community from code only (see v2c); a file giving one is rejected
    community: SecretStr | None = Field(default=None, repr=False)
    # accepted only to be rejected with a clear message (a secret in a file leaks)
    auth_key: None = None
    priv_key: None = None
    password: None = None

    @classmethod
    def v2c(cls, community: str) -> SnmpCredentials:
        """v2c with a literal community, for code (tests, ``linkmargin poll --community``), not files."""
        return cls.model_validate({"version": "2c", "community": community}, context={_INLINE_OK: True})

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: object) -> object:
        # YAML reads `version: 3` as an int and `version: 2c` as a string
        v = str(v) if isinstance(v, int) and not isinstance(v, bool) else v
        if v in ("1", "v1"):
            raise ValueError("SNMPv1 is not supported: the collector walks tables with GETBULK (2c or 3)")
        if isinstance(v, str) and v.lower() in ("v2c", "2", "v2"):
            raise ValueError(f"version {v!r}: write 2c")
        if isinstance(v, str) and v.lower() == "v3":
            raise ValueError(f"version {v!r}: write 3")
        return v

    @field_validator("auth", mode="before")
    @classmethod
    def _auth(cls, v: object) -> object:
        return _choice("auth", v, AUTH_PROTOCOLS)

    @field_validator("priv", mode="before")
    @classmethod
    def _priv(cls, v: object) -> object:
        return _choice("priv", v, PRIV_PROTOCOLS)

    @field_validator("community", mode="before")
    @classmethod
    def _community(cls, v: object, info: ValidationInfo) -> object:
        if v is not None and not (info.context or {}).get(_INLINE_OK):
            raise ValueError("inline secrets are not allowed; use community_env or community_file")
        return v

    @field_validator("auth_key", "priv_key", "password", mode="before")
    @classmethod
    def _reject_inline(cls, v: object, info: ValidationInfo) -> None:
        if v is not None:
            name = "community" if info.field_name == "password" else info.field_name
            raise ValueError(f"inline secrets are not allowed; use {name}_env or {name}_file")
        return None

    @model_validator(mode="after")
    def _complete(self) -> SnmpCredentials:
        for s in _SECRETS:
            if getattr(self, f"{s}_env") and getattr(self, f"{s}_file"):
                raise ValueError(f"give {s}_env or {s}_file, not both")
        v3_fields = ("user", "auth", "priv", "auth_key_env", "auth_key_file", "priv_key_env", "priv_key_file")
        v3_given = [k for k in v3_fields if getattr(self, k) is not None]
        if self.version == "2c":
            if v3_given:
                raise ValueError(f"{', '.join(v3_given)}: SNMPv3 settings in version 2c credentials")
            if not (self.community_env or self.community_file or self.community):
                raise ValueError("SNMP v2c needs community_env or community_file")
            return self
        if self.community_env or self.community_file or self.community:
            raise ValueError("a community is for version 2c; SNMPv3 uses user, auth and priv keys")
        missing = [
            k
            for k, ok in (
                ("user", self.user),
                ("auth", self.auth),
                ("auth_key_env or auth_key_file", self.auth_key_env or self.auth_key_file),
                ("priv", self.priv),
                ("priv_key_env or priv_key_file", self.priv_key_env or self.priv_key_file),
            )
            if not ok
        ]
        if missing:
            # the collector speaks v3 authPriv only: nothing weaker crosses the network
            raise ValueError(f"SNMPv3 (authPriv) needs {', '.join(missing)}")
        return self

    def secret_refs(self) -> list[tuple[str, str]]:
        """The (field, reference) pairs this entry's secrets are read from."""
        fields = [f"{s}_{how}" for s in _SECRETS for how in ("env", "file")]
        return [(f, v) for f in fields if (v := getattr(self, f)) is not None]

    def community_secret(self) -> str:
        """The v2c community, from the literal, env var or file; raises :class:`SecretError`."""
        if self.community is not None:
            return self.community.get_secret_value()
        c = read_secret(self.community_env, self.community_file, "community")
        if not c:
            raise SecretError("v2c credentials without a community (the referenced secret is empty)")
        return c

    def v3_keys(self) -> tuple[str, str]:
        """The v3 (auth, priv) passphrases from env vars or files; raises :class:`SecretError`."""
        a = read_secret(self.auth_key_env, self.auth_key_file, "auth key")
        p = read_secret(self.priv_key_env, self.priv_key_file, "priv key")
        if not (a and p):
            raise SecretError("v3 authPriv needs an auth key and a priv key (a referenced secret is empty)")
        return a, p

    def describe(self) -> str:
        """A one-line description without secrets (e.g. ``v3 nocro sha256/aes``)."""
        return "v2c" if self.version == "2c" else f"v3 {self.user} {self.auth}/{self.priv}"


class GnmiCredentials(BaseModel):
    """How to reach a gNMI target: TLS (CA file, optional client certificate) and a username with its
    password by reference (``password_env`` or ``password_file``; never inline, never on argv)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tls: bool = True
    ca_file: str | None = None  # None with tls: the system's roots
    cert_file: str | None = None  # client certificate (mutual TLS), with key_file
    key_file: str | None = None
    server_name: str | None = None  # the name to check the server's certificate against, if not host
    username: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    password: None = None  # accepted only to be rejected with a clear message

    @field_validator("password", mode="before")
    @classmethod
    def _no_inline(cls, v: object) -> None:
        if v is not None:
            raise ValueError("inline secrets are not allowed; use password_env or password_file")
        return None

    @model_validator(mode="after")
    def _complete(self) -> GnmiCredentials:
        if self.password_env and self.password_file:
            raise ValueError("give password_env or password_file, not both")
        if (self.password_env or self.password_file) and not self.username:
            raise ValueError("a password needs a username")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("a client certificate needs both cert_file and key_file")
        if not self.tls and (self.ca_file or self.cert_file or self.server_name):
            raise ValueError("ca_file, cert_file and server_name are TLS settings; tls is false")
        return self

    def secret_refs(self) -> list[tuple[str, str]]:
        """The (field, reference) pairs this entry's secrets are read from."""
        return [(f, v) for f in ("password_env", "password_file") if (v := getattr(self, f)) is not None]

    def reference_problems(self) -> list[tuple[str, str]]:
        """(field, why) for each password reference and TLS file (CA, certificate, key) that cannot be
        read now: an unset variable, a missing or unreadable file. Never reads a secret's content."""
        files = [(k, v) for k in ("ca_file", "cert_file", "key_file") if (v := getattr(self, k)) is not None]
        out = []
        for key, ref in [*self.secret_refs(), *files]:
            why = secret_ref_problem(key if key.endswith("_env") else "password_file", ref)
            if why is not None:
                out.append((key, why if key.startswith("password") else why.replace("secret file", "file")))
        return out

    def password_secret(self) -> str | None:
        """The password from its env var or file (None without a username); raises SecretError."""
        if not self.username:
            return None
        return read_secret(self.password_env, self.password_file, "gNMI password")

    def describe(self) -> str:
        """One line without secrets."""
        how = ("mtls" if self.cert_file else "tls") if self.tls else "plaintext"
        return f"gnmi {how} {self.username or '-'}"
