"""The gNMI path end to end against the lab's gNMI servers: every encoding, prefixed and bare paths,
TLS and password auth, a stream killed mid-run, a device sending garbage, and the same fabric read over
SNMP and over gNMI."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from collector.api import poll_once
from collector.gnmi.client import GnmiTarget
from collector.gnmi.errors import GnmiAuthError
from collector.gnmi.metrics import GnmiMetrics
from collector.gnmi.stream import GnmiStream, snapshot
from collector.transport import SnmpCredentials, Target
from lab.agent import AgentServer
from lab.fabric import LabFabric
from lab.gnmi.render import Style
from lab.gnmi.server import Faults, LabGnmiServer
from lab.scenario import load_scenario
from linkmargin.credentials import GnmiCredentials
from linkmargin.samples import SAMPLE_SCHEMA
from tests.services import wait_until

H = 3600.0
LSB_DB = {"sonic": 0.01, "arista": 0.01, "cisco": 0.1, "juniper": 0.01}
DOM = ["rx_power_dbm", "tx_power_dbm", "tx_bias_ma", "temperature_c", "voltage_v"]


def fabric(speed: float = 0.0) -> LabFabric:
    """The demo fabric at 6 h; speed 0 freezes it, so both transports read the same instant."""
    return LabFabric(load_scenario("demo"), speed=speed, start_s=6 * H, refresh_s=0.0, clock=lambda: 1000.0)


def readings(b: pl.DataFrame) -> dict[tuple[str, int | None, str], float | None]:
    d = b.filter(pl.col("metric").cast(pl.String).is_in(DOM))
    return {(r["port"], r["lane"], str(r["metric"])): r["value"] for r in d.iter_rows(named=True)}


def counters(x: pl.DataFrame) -> pl.DataFrame:
    return (
        x.filter(pl.col("counter").is_not_null()).select("port", "metric", "counter").sort("port", "metric")
    )


def low_warn(x: pl.DataFrame) -> dict[str, float]:
    rows = x.filter(pl.col("metric") == "thr_rx_power_dbm_low_warn").iter_rows(named=True)
    return {r["port"]: r["value"] for r in rows}


@pytest.mark.parametrize("encoding", ["double", "decimal", "float", "json_ietf", "json"])
@pytest.mark.parametrize("prefixes", [False, True])
async def test_every_encoding_reads_the_same_fabric(encoding: str, prefixes: bool) -> None:
    f = fabric()
    dev = f.devices[0]
    ref_srv = LabGnmiServer(f, dev, Style("double"))
    srv = LabGnmiServer(f, dev, Style(encoding, prefixes))  # type: ignore[arg-type]
    ref = await snapshot(GnmiTarget(dev, "127.0.0.1", await ref_srv.start()), ["counters", "dom"])
    got = await snapshot(GnmiTarget(dev, "127.0.0.1", await srv.start()), ["counters", "dom"])
    await srv.stop()
    await ref_srv.stop()
    assert got.schema == SAMPLE_SCHEMA
    a, b = readings(ref), readings(got)
    assert a.keys() == b.keys() and len(a) > 100
    tol = 1e-5 if encoding == "float" else 0.0  # float_val is 32-bit
    for k, v in a.items():
        assert (v is None) == (b[k] is None), k
        if v is not None:
            assert abs(v - b[k]) <= tol * max(1.0, abs(v)), (k, v, b[k])  # type: ignore[operator]
    # counters exact in every encoding, and no reading is 0 or the -40 floor
    assert counters(ref).equals(counters(got))
    power = got.filter(
        pl.col("metric").cast(pl.String).str.contains("power_dbm")
        & ~pl.col("metric").cast(pl.String).str.starts_with("thr_")
    )
    assert power.filter(pl.col("value") <= -40.0).is_empty()
    assert set(power.filter(pl.col("value").is_null())["reason"].cast(pl.String)) <= {
        "no_light",
        "dark_port",
        "admin_down",
    }


def _cert(tmp: Path) -> tuple[Path, bytes, bytes]:
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "linkmargin test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lab")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = tmp / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca_file, key_pem, cert.public_bytes(serialization.Encoding.PEM)


async def test_tls_and_password_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = fabric()
    dev = f.devices[0]
    ca_file, key_pem, cert_pem = _cert(tmp_path)
    srv = LabGnmiServer(
        f, dev, Style("json_ietf", True), tls=(key_pem, cert_pem), username="noc", password="s3cret"
    )
    port = await srv.start()
    monkeypatch.setenv("LAB_GNMI_PW", "s3cret")
    good = GnmiCredentials(ca_file=str(ca_file), username="noc", password_env="LAB_GNMI_PW")
    got = await snapshot(GnmiTarget(dev, "127.0.0.1", port, good), ["dom"])
    assert got.filter(pl.col("metric") == "rx_power_dbm").height > 10
    pw = tmp_path / "pw"
    pw.write_text("wrong\n")
    bad = GnmiCredentials(ca_file=str(ca_file), username="noc", password_file=str(pw))
    with pytest.raises(GnmiAuthError, match=dev):
        await snapshot(GnmiTarget(dev, "127.0.0.1", port, bad), ["dom"])
    await srv.stop()


async def test_stream_killed_mid_run_reconnects_and_reports_no_zeros() -> None:
    f = fabric(speed=60.0)
    dev = f.devices[0]
    faults = Faults()
    srv = LabGnmiServer(f, dev, Style("decimal"), faults=faults)
    port = await srv.start()
    batches: list[tuple[str, pl.DataFrame]] = []

    async def sink(device: str, group: str, frame: pl.DataFrame) -> None:
        batches.append((group, frame))

    m = GnmiMetrics()
    s = GnmiStream(
        GnmiTarget(dev, "127.0.0.1", port),
        sink,
        {"dom": 0.5, "counters": 0.5},
        metrics=m,
        backoff_s=(0.05, 0.2),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(s.run(stop))
    await wait_until(lambda: len(batches) >= 2, 20, "first batches")
    faults.kill_after = 3  # every stream from now on dies after three notifications
    await wait_until(lambda: s.sessions >= 3, 20, "reconnects")
    faults.kill_after = None
    n = len(batches)
    await wait_until(lambda: len(batches) >= n + 2, 20, "batches after the reconnects")
    stop.set()
    await task
    await srv.stop()
    assert m.reconnects.labels(dev)._value.get() >= 2
    allb = pl.concat([b for _, b in batches])
    power = allb.filter(pl.col("metric").cast(pl.String).is_in(["rx_power_dbm", "tx_power_dbm"]))
    assert power.filter(pl.col("value") <= -40.0).is_empty()
    # a re-opened stream never makes a counter look reset: each one only goes up
    cnt = allb.filter(pl.col("counter").is_not_null()).sort("ts")
    steps = cnt.group_by("port", "metric").agg(pl.col("counter").diff().min().alias("d"))
    assert steps.filter(pl.col("d") < 0).is_empty()
    assert power.filter(pl.col("value").is_null() & pl.col("reason").is_null()).is_empty()


async def test_a_stalled_stream_is_detected_and_counted() -> None:
    f = fabric()
    dev = f.devices[0]
    faults = Faults()
    srv = LabGnmiServer(f, dev, faults=faults)
    port = await srv.start()
    m = GnmiMetrics()

    async def sink(device: str, group: str, frame: pl.DataFrame) -> None:
        return None

    s = GnmiStream(
        GnmiTarget(dev, "127.0.0.1", port),
        sink,
        {"dom": 0.2, "counters": 0.2},
        metrics=m,
        backoff_s=(0.05, 0.1),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(s.run(stop))
    await wait_until(lambda: s.sessions >= 1, 10, "stream up")
    faults.mute = True
    await wait_until(lambda: m.stalls.labels(dev)._value.get() >= 1, 10, "a stall")
    stop.set()
    await task
    await srv.stop()


async def test_garbage_is_counted_and_the_readings_still_flow() -> None:
    f = fabric()
    dev = f.devices[0]
    srv = LabGnmiServer(f, dev, Style("json_ietf"), faults=Faults(garbage=True))
    port = await srv.start()
    m = GnmiMetrics()
    batches: list[pl.DataFrame] = []

    async def sink(device: str, group: str, frame: pl.DataFrame) -> None:
        batches.append(frame)

    s = GnmiStream(GnmiTarget(dev, "127.0.0.1", port), sink, {"dom": 0.3, "counters": 0.3}, metrics=m)
    stop = asyncio.Event()
    task = asyncio.create_task(s.run(stop))
    await wait_until(lambda: len(batches) >= 2, 20, "batches")
    stop.set()
    await task
    await srv.stop()
    rej = {s.labels["reason"]: s.value for s in m.rejects.collect()[0].samples if s.name.endswith("_total")}
    assert rej.get("unknown_path", 0) > 0 and rej.get("no_value", 0) > 0
    assert rej.get("unmapped_component", 0) > 0  # the junk component maps to no interface
    assert rej.get("value_bad_json", 0) > 0
    assert pl.concat(batches).filter(pl.col("metric") == "rx_power_dbm")["value"].is_not_null().sum() > 10


async def test_snmp_and_gnmi_read_the_same_margins() -> None:
    """The same frozen fabric over SNMP (the lab's agents) and gNMI: every DOM reading and the power
    margin to the module's low-warning threshold agree to the SNMP layout's quantization."""
    f = fabric()
    eps = f.endpoints(0)
    agents = AgentServer("127.0.0.1")
    bound = await agents.start(eps)
    try:
        for i, dev in enumerate(f.devices[:3]):
            layout = f.sim.fleet.dev_layout[i]
            host, sport = bound[dev]
            snmp = await poll_once(Target(dev, host, sport, SnmpCredentials.v2c(f.scenario.community)))
            srv = LabGnmiServer(f, dev, Style("json_ietf", prefixes=True))
            gn = await snapshot(GnmiTarget(dev, "127.0.0.1", await srv.start()), ["counters", "dom"])
            await srv.stop()
            a, b = readings(snmp), readings(gn)
            rx = {k: v for k, v in a.items() if k[2] == "rx_power_dbm" and v is not None}
            assert len(rx) > 10
            tol = LSB_DB[layout] + 0.006  # SNMP's LSB + gNMI's 0.01 dB rounding
            for k, v in rx.items():
                assert b[k] is not None and abs(v - b[k]) <= tol, (layout, k, v, b[k])
            ta, tb = low_warn(snmp), low_warn(gn)
            for (port, lane, _), v in rx.items():
                if port in ta and port in tb:
                    assert abs((v - ta[port]) - (b[(port, lane, "rx_power_dbm")] - tb[port])) <= 2 * tol  # type: ignore[operator]
    finally:
        agents.close()
