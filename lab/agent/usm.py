"""SNMPv3 User-based Security Model pieces: RFC 3414 key localization, HMAC-SHA-96 and
HMAC-SHA-256-192 (RFC 7860) authentication, AES-128-CFB privacy (RFC 3826)."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:  # cryptography >= 47 moved CFB to "decrepit" (still what RFC 3826 specifies)
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.modes import CFB


class AuthProtocol(StrEnum):
    """Supported authentication protocols (names as net-snmp's -a takes them)."""

    SHA = "SHA"
    SHA256 = "SHA-256"


class PrivProtocol(StrEnum):
    """Supported privacy protocols (names as net-snmp's -x takes them)."""

    AES = "AES"


# hash name, digest bytes kept in msgAuthenticationParameters
_AUTH = {AuthProtocol.SHA: ("sha1", 12), AuthProtocol.SHA256: ("sha256", 24)}


@dataclass(frozen=True)
class V3User:
    """One USM user; passwords are never printed (repr=False). Priv needs auth (authPriv)."""

    name: str
    auth_password: str = field(repr=False)
    priv_password: str | None = field(default=None, repr=False)
    auth_protocol: AuthProtocol = AuthProtocol.SHA
    priv_protocol: PrivProtocol = PrivProtocol.AES

    @classmethod
    def from_env(
        cls, name: str, prefix: str = "LINKMARGIN_LAB_V3", env: Mapping[str, str] | None = None
    ) -> V3User:
        """User name with passwords from {prefix}_AUTH_PASSWORD and optional {prefix}_PRIV_PASSWORD."""
        src = os.environ if env is None else env
        try:
            auth = src[f"{prefix}_AUTH_PASSWORD"]
        except KeyError:
            raise ValueError(f"set {prefix}_AUTH_PASSWORD for SNMPv3 user {name!r}") from None
        return cls(name, auth, src.get(f"{prefix}_PRIV_PASSWORD"))

    def __post_init__(self) -> None:
        if len(self.auth_password) < 8 or (self.priv_password is not None and len(self.priv_password) < 8):
            raise ValueError("SNMPv3 passwords must be at least 8 characters (RFC 3414)")


@lru_cache(maxsize=64)  # many devices share one user: hash each 1 MiB password stream once
def password_to_key(password: str, hash_name: str) -> bytes:
    """RFC 3414 A.2: hash of the password repeated to 1 MiB."""
    pw = password.encode()
    reps, rest = divmod(1048576, len(pw))
    return hashlib.new(hash_name, pw * reps + pw[:rest]).digest()


def localize_key(key: bytes, engine_id: bytes, hash_name: str) -> bytes:
    """RFC 3414 A.2: Kul = H(Ku || engineID || Ku)."""
    return hashlib.new(hash_name, key + engine_id + key).digest()


@dataclass(frozen=True)
class LocalizedUser:
    """A user's keys localized to one engine ID, ready for the hot path."""

    name: bytes
    auth_hash: str
    auth_len: int
    auth_key: bytes = field(repr=False)
    priv_key: bytes | None = field(repr=False)

    @classmethod
    def create(cls, user: V3User, engine_id: bytes) -> LocalizedUser:
        """Localize both keys of user to engine_id."""
        hash_name, auth_len = _AUTH[user.auth_protocol]
        auth_key = localize_key(password_to_key(user.auth_password, hash_name), engine_id, hash_name)
        priv_key = None
        if user.priv_password is not None:
            # AES-128 takes the first 16 octets of the key localized with the auth hash (RFC 3826 1.2).
            priv_key = localize_key(password_to_key(user.priv_password, hash_name), engine_id, hash_name)[:16]
        return cls(user.name.encode(), hash_name, auth_len, auth_key, priv_key)

    def sign(self, whole_msg: bytes) -> bytes:
        """Truncated HMAC over the message whose auth parameters are zeroed."""
        return hmac.new(self.auth_key, whole_msg, self.auth_hash).digest()[: self.auth_len]

    def _cipher(self, boots: int, etime: int, salt: bytes) -> Cipher[CFB]:
        assert self.priv_key is not None
        iv = boots.to_bytes(4, "big") + etime.to_bytes(4, "big") + salt
        return Cipher(algorithms.AES(self.priv_key), CFB(iv))

    def decrypt(self, data: bytes, boots: int, etime: int, salt: bytes) -> bytes:
        """AES-CFB128 decrypt with IV = boots || time || salt."""
        d = self._cipher(boots, etime, salt).decryptor()
        return d.update(data) + d.finalize()

    def encrypt(self, data: bytes, boots: int, etime: int, salt: bytes) -> bytes:
        """AES-CFB128 encrypt with IV = boots || time || salt."""
        e = self._cipher(boots, etime, salt).encryptor()
        return e.update(data) + e.finalize()
