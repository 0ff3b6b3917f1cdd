"""How to reach an MQTT broker: address, TLS trust and the password *by reference* — shared by the
collector's publisher and the analyzer's subscriber, so both read secrets and explain failures alike.

The password is never a value of this object: only the file or environment variable that holds it,
read at each connection attempt (a rotated secret is picked up without a restart, and a ``repr`` or
a log line of the settings can never leak it). The CA file is read at each attempt for the same
reason. Nothing here imports aiomqtt: :meth:`MqttSettings.client_kwargs` gives the keyword arguments
of ``aiomqtt.Client`` and :meth:`MqttSettings.explain` turns its exceptions into one clear line.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MQTT_PROTOCOLS", "MqttConfigError", "MqttSettings"]

# "5" (the default: persistent sessions with an expiry, shared subscriptions) or "3.1.1", for brokers
# that speak only that: NATS's MQTT listener, RabbitMQ's plugin before 3.13 (persistent sessions by
# clean_session false; no shared subscriptions)
MQTT_PROTOCOLS = ("5", "3.1.1")


class MqttConfigError(Exception):
    """A local problem with the broker settings (secret or CA file unreadable, env var unset)."""


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """Broker address, TLS and credentials by reference (``password_file`` or ``password_env``)."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    tls: bool = False
    ca_file: str | None = None  # with tls and no ca_file: the system's trust store
    protocol: str = "5"  # one of MQTT_PROTOCOLS

    def __post_init__(self) -> None:
        if self.protocol not in MQTT_PROTOCOLS:
            raise MqttConfigError(f"mqtt protocol {self.protocol!r}: one of {', '.join(MQTT_PROTOCOLS)}")

    @property
    def v5(self) -> bool:
        """Whether sessions speak MQTT 5 (else 3.1.1)."""
        return self.protocol == "5"

    @property
    def broker(self) -> str:
        """``mqtts://host:port`` or ``mqtt://host:port``: how errors name the broker."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def _password_source(self) -> str:
        if self.password_file:
            return f"password from file {self.password_file}"
        if self.password_env:
            return f"password from ${self.password_env}"
        return "no password"

    def password(self) -> str | None:
        """The password, read now from its file or env var (None when neither is set)."""
        if self.password_file:
            try:
                text = Path(self.password_file).read_text(encoding="utf-8")
            except OSError as exc:
                what = f"mqtt password_file: cannot read {self.password_file}"
                raise MqttConfigError(f"{what}: {exc.strerror}") from None
            except UnicodeDecodeError:
                # not str(exc): it quotes the offending byte, a piece of the secret
                raise MqttConfigError(f"mqtt password_file: {self.password_file} is not UTF-8 text") from None
            # surrounding whitespace is the editor's, as for the SNMP secret files
            return text.strip()
        if self.password_env:
            value = os.environ.get(self.password_env)
            if value is None:
                what = f"environment variable {self.password_env}"
                raise MqttConfigError(f"mqtt password_env: {what} is not set")
            return value
        return None

    def tls_context(self) -> ssl.SSLContext | None:
        """A verifying TLS context (hostname checked) trusting ``ca_file``, or None without TLS."""
        if not self.tls:
            return None
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            what = f"mqtt ca_file: cannot load CA certificates from {self.ca_file}"
            raise MqttConfigError(f"{what}: {exc}") from None

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``aiomqtt.Client`` (secrets read now); raises MqttConfigError."""
        return {
            "hostname": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password(),
            "tls_context": self.tls_context(),
        }

    def explain(self, exc: BaseException) -> str:
        """One line naming the broker and what failed, for a connection error of aiomqtt (or ours).

        Never includes the password, only where it came from.
        """
        if isinstance(exc, MqttConfigError):
            return f"mqtt broker {self.broker}: {exc}"
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ssl.SSLCertVerificationError):
                trust = f"CA file {self.ca_file}" if self.ca_file else "the system trust store"
                why = cause.verify_message or str(cause)
                return (
                    f"mqtt broker {self.broker}: TLS certificate not trusted ({why}); checked against {trust}"
                )
            if isinstance(cause, ssl.SSLError):
                return f"mqtt broker {self.broker}: TLS handshake failed ({cause.reason or cause})"
            cause = cause.__cause__ or cause.__context__
        rc = getattr(exc, "rc", None)
        # only a CONNACK carries a refusal; a publish on a lost session has an rc too (paho's 4, NO_CONN)
        if rc is not None and type(exc).__name__ == "MqttConnectError":
            # CONNACK refusals: 4/5 (MQTT 3.1.1) or 0x86/0x87 (MQTT 5) are bad credentials
            who = f"username {self.username!r}" if self.username else "no username"
            return (
                f"mqtt broker {self.broker} refused the connection: {rc} ({who}, {self._password_source()})"
            )
        text = str(exc) or type(exc).__name__
        hint = "" if self.tls else "; if the listener is TLS-only, set tls"
        if "timed out" in text.lower():
            return f"mqtt broker {self.broker}: no answer ({text}){hint}"
        return f"mqtt broker {self.broker}: cannot connect ({text})"
