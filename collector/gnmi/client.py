"""The gNMI client side: a grpcio channel with TLS and credentials, Capabilities, the Subscribe request.

``GnmiTarget`` is one device; its ``GnmiCredentials`` (core) hold TLS files and the password by
reference, read here when a channel opens. The username and password travel as per-RPC metadata, as
gNMI's specification says (``username``/``password``). Every grpc failure comes out as our own
exception naming the device (:mod:`collector.gnmi.errors`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import grpc
import grpc.aio

from collector.gnmi.errors import GnmiAuthError, GnmiError, GnmiUnavailable
from collector.gnmi.paths import to_path
from collector.gnmi.profile import GnmiProfileDocument
from linkmargin.credentials import GnmiCredentials, SecretError
from linkmargin.gnmi import gnmi_pb2, gnmi_pb2_grpc

ENCODINGS = {"json": gnmi_pb2.JSON, "json_ietf": gnmi_pb2.JSON_IETF, "proto": gnmi_pb2.PROTO}
_AUTH_CODES = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)


@dataclass(frozen=True, slots=True)
class GnmiTarget:
    """One gNMI device."""

    name: str
    host: str
    port: int = 9339
    credentials: GnmiCredentials = field(default_factory=lambda: GnmiCredentials(tls=False))
    profile: str = "openconfig"
    timeout: float = 5.0


def _read(path: str, device: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise GnmiAuthError(device, f"cannot read {path}: {exc.strerror}") from None


def open_channel(t: GnmiTarget) -> grpc.aio.Channel:
    """A channel to ``t`` (TLS unless the credentials say plaintext); raises GnmiAuthError on bad files."""
    addr = f"{t.host}:{t.port}" if ":" not in t.host else f"[{t.host}]:{t.port}"
    c = t.credentials
    opts: list[tuple[str, object]] = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    if not c.tls:
        return grpc.aio.insecure_channel(addr, options=opts)
    creds = grpc.ssl_channel_credentials(
        root_certificates=_read(c.ca_file, t.name) if c.ca_file else None,
        private_key=_read(c.key_file, t.name) if c.key_file else None,
        certificate_chain=_read(c.cert_file, t.name) if c.cert_file else None,
    )
    if c.server_name:
        opts.append(("grpc.ssl_target_name_override", c.server_name))
    return grpc.aio.secure_channel(addr, creds, options=opts)


def metadata(t: GnmiTarget) -> tuple[tuple[str, str], ...]:
    """The per-RPC username/password metadata (empty without a username)."""
    try:
        pw = t.credentials.password_secret()
    except SecretError as exc:
        raise GnmiAuthError(t.name, str(exc)) from None
    if not t.credentials.username:
        return ()
    return (("username", t.credentials.username), ("password", pw or ""))


def wrap(t: GnmiTarget, exc: grpc.aio.AioRpcError) -> GnmiError:
    """A grpc error as our exception naming the device."""
    what = f"{exc.code().name}: {exc.details() or ''}".strip()
    if exc.code() in _AUTH_CODES:
        return GnmiAuthError(t.name, what)
    return GnmiUnavailable(t.name, what)


async def capabilities(stub: gnmi_pb2_grpc.gNMIStub, t: GnmiTarget) -> gnmi_pb2.CapabilityResponse:
    """The device's Capabilities (models, encodings, gNMI version)."""
    try:
        resp: gnmi_pb2.CapabilityResponse = await stub.Capabilities(
            gnmi_pb2.CapabilityRequest(), metadata=metadata(t), timeout=t.timeout
        )
    except grpc.aio.AioRpcError as exc:
        raise wrap(t, exc) from None
    return resp


def choose_encoding(doc: GnmiProfileDocument, caps: gnmi_pb2.CapabilityResponse) -> int:
    """The profile's encoding if the device offers it, else the first of JSON_IETF, JSON, PROTO it does."""
    offered = set(caps.supported_encodings)
    want = ENCODINGS[doc.encoding]
    if not offered or want in offered:
        return want
    for e in (gnmi_pb2.JSON_IETF, gnmi_pb2.JSON, gnmi_pb2.PROTO):
        if e in offered:
            return e
    return want


def subscribe_request(
    doc: GnmiProfileDocument, intervals: dict[str, float], encoding: int
) -> gnmi_pb2.SubscribeRequest:
    """One STREAM subscription list: SAMPLE at the group's interval, ON_CHANGE for state."""
    subs = []
    for s in doc.subscribe:
        if s.mode == "on_change":
            subs.append(gnmi_pb2.Subscription(path=to_path(s.path), mode=gnmi_pb2.ON_CHANGE))
        else:
            ns = int(intervals.get(s.group, 60.0) * 1e9)
            subs.append(gnmi_pb2.Subscription(path=to_path(s.path), mode=gnmi_pb2.SAMPLE, sample_interval=ns))
    return gnmi_pb2.SubscribeRequest(
        subscribe=gnmi_pb2.SubscriptionList(
            subscription=subs,
            mode=gnmi_pb2.SubscriptionList.STREAM,
            encoding=encoding,  # type: ignore[arg-type]
        )
    )


def once_request(doc: GnmiProfileDocument, encoding: int) -> gnmi_pb2.SubscribeRequest:
    """One ONCE subscription list over the profile's paths: the device sends every leaf once, then
    ``sync_response``, then ends the RPC (gNMI specification, "ONCE subscriptions")."""
    return gnmi_pb2.SubscribeRequest(
        subscribe=gnmi_pb2.SubscriptionList(
            subscription=[gnmi_pb2.Subscription(path=to_path(s.path)) for s in doc.subscribe],
            mode=gnmi_pb2.SubscriptionList.ONCE,
            encoding=encoding,  # type: ignore[arg-type]
        )
    )
