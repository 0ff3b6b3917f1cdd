"""A gNMI server per simulated switch, on loopback: Capabilities and Subscribe (STREAM: SAMPLE and
ON_CHANGE; ONCE: every leaf once, sync_response, end) over the running fabric, in a chosen encoding,
with optional TLS and password auth, and fault modes for tests (garbage updates, streams killed after
N notifications)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import grpc
import grpc.aio

from lab.fabric import LabFabric
from lab.gnmi.login import lab_login
from lab.gnmi.render import GnmiRenderer, Leaf, Style, path_of, typed
from linkmargin.gnmi import gnmi_pb2 as g
from linkmargin.gnmi import gnmi_pb2_grpc

ON_CHANGE_CHECK_S = 0.2


@dataclass
class Faults:
    """What the server does wrong, on purpose (changeable while it runs)."""

    garbage: bool = False  # every notification also carries undecodable and unknown updates
    kill_after: int | None = None  # abort each stream (UNAVAILABLE) after this many notifications
    mute: bool = False  # keep the stream open but send nothing (a stall)
    streams: int = field(default=0)  # streams opened so far


def _garbage() -> list[g.Update]:
    names = [
        "components",
        "component",
        "transceiver",
        "physical-channels",
        "channel",
        "state",
        "input-power",
        "instant",
    ]
    keys = {"component": {"name": "junk"}, "channel": {"index": "0"}}
    p = g.Path(elem=[g.PathElem(name=n, key=keys.get(n, {})) for n in names])
    return [
        g.Update(path=p, val=g.TypedValue(json_ietf_val=b"{not json")),
        g.Update(
            path=g.Path(elem=[g.PathElem(name="no"), g.PathElem(name="such")]), val=g.TypedValue(int_val=0)
        ),
        g.Update(path=p, val=g.TypedValue(bytes_val=b"\x00\xff")),
        g.Update(path=p),
    ]


def _names(elems: tuple[tuple[str, dict[str, str]], ...]) -> str:
    return "/" + "/".join(n for n, _ in elems)


def _sub_path(p: g.Path) -> str:
    return "/" + "/".join(e.name.rsplit(":", 1)[-1] for e in p.elem)


class LabGnmiServer(gnmi_pb2_grpc.gNMIServicer):
    """One switch's gNMI endpoint (Get and Set answer UNIMPLEMENTED, from the generated servicer)."""

    def __init__(
        self,
        fabric: LabFabric,
        device: str,
        style: Style | None = None,
        *,
        tls: tuple[bytes, bytes] | None = None,  # (key PEM, certificate chain PEM)
        client_ca: bytes | None = None,  # require client certificates signed by this CA
        username: str | None = None,
        password: str | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.fabric = fabric
        self.device = device
        self.style = style or Style()
        self.tls, self.client_ca = tls, client_ca
        self.username, self.password = username, password
        self.faults = faults or Faults()
        self.renderer = GnmiRenderer(fabric.sim, fabric.sim.fleet.device_index(device))
        self.server: grpc.aio.Server | None = None
        self.port = 0
        self.notifications = 0

    # -- gNMI ------------------------------------------------------------------------------------
    def _check_auth(self, context: grpc.aio.ServicerContext) -> bool:
        if self.username is None:
            return True
        md = dict(context.invocation_metadata() or ())
        return md.get("username") == self.username and md.get("password") == self.password

    async def Capabilities(
        self, request: g.CapabilityRequest, context: grpc.aio.ServicerContext
    ) -> g.CapabilityResponse:
        if not self._check_auth(context):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad username or password")
        return g.CapabilityResponse(
            supported_models=[
                g.ModelData(name="openconfig-platform", organization="OpenConfig working group"),
                g.ModelData(name="openconfig-platform-transceiver", organization="OpenConfig working group"),
                g.ModelData(name="openconfig-interfaces", organization="OpenConfig working group"),
            ],
            supported_encodings=[g.JSON, g.JSON_IETF, g.PROTO],
            gNMI_version="0.10.0",
        )

    def _leaves(self) -> list[Leaf]:
        self.fabric.tick()
        return self.renderer.leaves()

    def _note(self, leaves: list[Leaf], idx: list[int]) -> g.SubscribeResponse:
        ups = [
            g.Update(path=path_of(leaves[i][1], self.style), val=typed(leaves[i][2], self.style)) for i in idx
        ]
        if self.faults.garbage:
            ups += _garbage()
        return g.SubscribeResponse(update=g.Notification(timestamp=time.time_ns(), update=ups))

    async def Subscribe(
        self, request_iterator: AsyncIterator[g.SubscribeRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[g.SubscribeResponse]:
        if not self._check_auth(context):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad username or password")
        req = await anext(aiter(request_iterator))
        subs = list(req.subscribe.subscription)
        self.faults.streams += 1
        leaves = self._leaves()
        names = [_names(lf[1]) for lf in leaves]
        members = [[i for i, n in enumerate(names) if n.startswith(_sub_path(s.path))] for s in subs]
        sent = 0
        last: dict[int, float | int | str] = {}

        async def emit(idx: list[int]) -> AsyncIterator[g.SubscribeResponse]:
            nonlocal sent
            if not idx or self.faults.mute:
                return
            if self.faults.kill_after is not None and sent >= self.faults.kill_after:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "lab: stream killed (fault)")
            sent += 1
            self.notifications += 1
            yield self._note(leaves, idx)

        for idx in members:
            async for r in emit(idx):
                yield r
        for s, idx in zip(subs, members, strict=True):
            if s.mode == g.ON_CHANGE:
                last.update({i: leaves[i][2] for i in idx})
        yield g.SubscribeResponse(sync_response=True)
        if req.subscribe.mode == g.SubscriptionList.ONCE:
            return  # gNMI specification, "ONCE subscriptions": the RPC ends after the sync_response
        now = time.monotonic()
        due = [now + (s.sample_interval or 10**10) / 1e9 for s in subs]
        while True:
            await asyncio.sleep(ON_CHANGE_CHECK_S)
            leaves = self._leaves()
            now = time.monotonic()
            for k, (s, idx) in enumerate(zip(subs, members, strict=True)):
                if s.mode == g.ON_CHANGE:
                    changed = [i for i in idx if last.get(i) != leaves[i][2]]
                    last.update({i: leaves[i][2] for i in changed})
                    async for r in emit(changed):
                        yield r
                elif now >= due[k]:
                    due[k] += max(s.sample_interval / 1e9, 0.05)
                    async for r in emit(idx):
                        yield r

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve on ``host:port`` (0: any free port); returns the bound port."""
        self.server = grpc.aio.server()
        gnmi_pb2_grpc.add_gNMIServicer_to_server(self, self.server)
        addr = f"{host}:{port}"
        if self.tls is not None:
            creds = grpc.ssl_server_credentials(
                [self.tls], root_certificates=self.client_ca, require_client_auth=self.client_ca is not None
            )
            self.port = self.server.add_secure_port(addr, creds)
        else:
            self.port = self.server.add_insecure_port(addr)
        await self.server.start()
        return self.port

    async def stop(self) -> None:
        """Stop serving (open streams end)."""
        if self.server is not None:
            with contextlib.suppress(Exception):
                await self.server.stop(0.1)
            self.server = None


async def serve_fabric(
    fabric: LabFabric, devices: list[str], host: str = "127.0.0.1", style: Style | None = None
) -> dict[str, LabGnmiServer]:
    """One password-protected (``lab_login``) plaintext gNMI server per named switch, each on a free
    loopback port (``server.port``); stop them with :func:`stop_all`."""
    user, password = lab_login()
    out: dict[str, LabGnmiServer] = {}
    try:
        for d in devices:
            srv = LabGnmiServer(fabric, d, style, username=user, password=password)
            await srv.start(host, 0)
            out[d] = srv
    except BaseException:
        await stop_all(out.values())
        raise
    return out


async def stop_all(servers: Iterable[LabGnmiServer]) -> None:
    """Stop every server (open streams end)."""
    for srv in servers:
        await srv.stop()
