"""A mixed inventory (every second switch over gNMI, the rest over SNMP) through two sharded
`linkmargin collect` daemons -> a real Mosquitto -> `linkmargin analyze`: margins for every link, the
gNMI devices' margins equal to what the SNMP path gives for the same frozen fabric (to the SNMP
layout's quantization), and a gNMI device with a wrong password counted on /metrics while the others
go on."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from analyzer.analysis import analyze as run_analysis
from analyzer.state import LaneState
from collector.api import poll_once
from collector.transport import SnmpCredentials, Target
from lab.agent import AgentServer
from lab.fabric import LabFabric
from lab.gnmi.login import lab_login
from lab.gnmi.server import serve_fabric, stop_all
from lab.scenario import load_scenario
from lab.truth import inventory as implied_inventory
from linkmargin.inventory import load_inventory
from linkmargin.samples import conform
from linkmargin_cli.harness import free_udp_block, gnmi_devices, replay_in_past
from linkmargin_cli.wiring import spec_from_inventory
from tests.services import free_port, mosquitto

H = 3600.0
LSB_DB = {"sonic": 0.01, "arista": 0.01, "cisco": 0.1, "juniper": 0.01}  # the SNMP layouts' Rx LSB
EXE = Path(sys.executable).with_name("linkmargin")
PW_ENV = "LM_TEST_GNMI_PASSWORD"


def scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Family name -> (labels, value) of every sample on 127.0.0.1:PORT/metrics ({} when not up yet)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def lane_key(labels: dict[str, str]) -> tuple[str, str, int]:
    return labels["device"], labels["port"], int(labels["lane"])


@pytest.mark.timeout(300)
async def test_mixed_inventory_over_mqtt_gives_every_link_a_margin(tmp_path: Path) -> None:
    sc = replay_in_past(load_scenario("demo"))
    # frozen at 6 h (speed 0): SNMP and gNMI read the same instant
    fabric = LabFabric(sc, speed=0.0, start_s=6 * H, refresh_s=0.0, clock=lambda: 1000.0)
    devs = fabric.devices
    over_gnmi = gnmi_devices(devs, "mixed")
    bad = over_gnmi[-1]  # streamed with a wrong password
    good = [d for d in over_gnmi if d != bad]
    assert good and len(devs) - len(over_gnmi) >= 2

    agents = AgentServer("127.0.0.1")
    base = free_udp_block(len(devs))
    bound = await agents.start(fabric.endpoints(base))
    servers = await serve_fabric(fabric, over_gnmi)
    doc = implied_inventory(
        fabric.sim, base_port=base, secrets_dir=tmp_path, gnmi_ports={d: s.port for d, s in servers.items()}
    )
    # the good ones by env var, the bad one by a file holding a wrong password
    (tmp_path / "wrong").write_text("not-the-password\n")
    doc["gnmi_credentials"] = {
        "noc": {"tls": False, "username": lab_login()[0], "password_env": PW_ENV},
        "stale": {"tls": False, "username": lab_login()[0], "password_file": str(tmp_path / "wrong")},
    }
    for d in doc["devices"]:
        if d["name"] in over_gnmi:
            d["credentials"] = "stale" if d["name"] == bad else "noc"
    inv_path = tmp_path / "inventory.yaml"
    inv_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    inv = load_inventory(inv_path)
    assert {d.name for d in inv.devices if d.transport == "gnmi"} == set(over_gnmi)

    env = {**os.environ, PW_ENV: lab_login()[1], "LINKMARGIN_LAB_COMMUNITY": sc.community}
    procs: list[subprocess.Popen[str]] = []
    try:
        with mosquitto(tmp_path / "broker") as broker:
            exporters = []
            for i in (1, 2):  # two collectors splitting the devices, SNMP and gNMI alike
                exporters.append(free_port())
                cfg = {
                    "inventory": str(inv_path),
                    "intervals": {"dom": 1, "counters": 1, "discovery": 3600},
                    "exporter": {"listen": f"127.0.0.1:{exporters[-1]}"},
                    "bus": {
                        "kind": "mqtt",
                        "host": "127.0.0.1",
                        "port": broker.port,
                        "outbox_dir": str(tmp_path / f"outbox{i}"),
                    },
                }
                (tmp_path / f"collector{i}.yaml").write_text(yaml.safe_dump(cfg))
                args = ["collect", "--config", str(tmp_path / f"collector{i}.yaml"), "--shard", f"{i}/2"]
                procs.append(subprocess.Popen([str(EXE), *args], env=env, text=True, stderr=subprocess.PIPE))
            aport = free_port()
            analyze = [
                *("analyze", "--inventory", str(inv_path), "--mqtt", f"127.0.0.1:{broker.port}"),
                *("--metrics-port", str(aport), "--every", "1", "--duration", "200"),
            ]
            procs.append(subprocess.Popen([str(EXE), *analyze], env=env, text=True, stderr=subprocess.PIPE))

            # the SNMP path's view of the same frozen fabric, through the analyzer's own estimators
            state = LaneState(spec_from_inventory(inv))
            now = datetime.now(UTC)
            for d in devs:
                host, port = bound[d]
                batch = await poll_once(Target(d, host, port, SnmpCredentials.v2c(sc.community)))
                state.ingest(
                    conform(batch.with_columns(pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("ts")))
                )
            ref = run_analysis(state, now=now).lanes
            ref_margin = {
                (r["device"], r["port"], r["lane"]): (r["margin_db"], r["warn_margin_db"])
                for r in ref.iter_rows(named=True)
                if r["margin_db"] is not None
            }
            links = {lk.id for lk in inv.links}
            want_lanes = {k for k in ref_margin if k[0] != bad}

            got: dict[str, list[tuple[dict[str, str], float]]] = {}
            deadline = asyncio.get_running_loop().time() + 150
            while asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(1.0)
                for p in procs:
                    assert p.poll() is None, p.communicate(timeout=5)[1][-3000:]
                got = scrape(aport)
                have_links = {lb["link"] for lb, _ in got.get("linkmargin_link_margin_db", [])}
                have_lanes = {lane_key(lb) for lb, _ in got.get("linkmargin_margin_db", [])}
                if links <= have_links and want_lanes <= have_lanes:
                    break
            have_links = {lb["link"] for lb, _ in got.get("linkmargin_link_margin_db", [])}
            assert links <= have_links, sorted(links - have_links)[:5]

            margin = {lane_key(lb): v for lb, v in got["linkmargin_margin_db"]}
            warn = {lane_key(lb): v for lb, v in got.get("linkmargin_warn_margin_db", [])}
            layout = dict(zip(devs, fabric.sim.fleet.dev_layout, strict=True))
            compared = 0
            for key, (m_snmp, w_snmp) in ref_margin.items():
                dev = key[0]
                if dev == bad:
                    assert key not in margin  # nothing read from it: no margin, never a zero
                    continue
                assert key in margin, key
                tol = LSB_DB[str(layout[dev])] + 0.006  # the SNMP LSB + gNMI's 0.01 dB rounding
                assert abs(margin[key] - m_snmp) <= tol, (key, margin[key], m_snmp)
                if w_snmp is not None and key in warn:
                    assert abs(warn[key] - w_snmp) <= 2 * tol, (key, warn[key], w_snmp)
                compared += dev in good
            assert compared >= 20  # the gNMI devices' lanes were compared, not only the SNMP ones'

            # the wrong password: counted on the owning collector's /metrics, its stream not up
            auth: list[float] = []
            up: dict[str, float] = {}
            streamed: list[str] = []
            for port in exporters:
                fams = scrape(port)
                auth += [
                    v
                    for lb, v in fams.get("linkmargin_collector_gnmi_errors_total", [])
                    if lb["device"] == bad and lb["kind"] == "GnmiAuthError"
                ]
                mine = {lb["device"]: v for lb, v in fams.get("linkmargin_collector_gnmi_stream_up", [])}
                streamed += list(mine)
                up |= mine
            assert sum(auth) >= 1
            assert up[bad] == 0 and all(up[d] == 1 for d in good)
            assert sorted(streamed) == sorted(over_gnmi)  # each gNMI device in exactly one shard
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        agents.close()
        await stop_all(servers.values())
