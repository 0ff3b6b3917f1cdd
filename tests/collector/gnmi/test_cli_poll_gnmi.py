"""`linkmargin poll --gnmi HOST:PORT` prints the same JSON lines as the SNMP poll."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading

from lab.fabric import LabFabric
from lab.gnmi.render import Style
from lab.gnmi.server import LabGnmiServer
from lab.scenario import load_scenario


def test_poll_gnmi_prints_sample_json_lines(tmp_path) -> None:
    f = LabFabric(load_scenario("demo"), speed=0.0, start_s=6 * 3600, refresh_s=0.0, clock=lambda: 1000.0)
    dev = f.devices[0]
    loop = asyncio.new_event_loop()
    th = threading.Thread(target=loop.run_forever, daemon=True)
    th.start()
    srv = LabGnmiServer(f, dev, Style("decimal", True), username="noc", password="pw")
    port = asyncio.run_coroutine_threadsafe(srv.start(), loop).result(10)
    pw = tmp_path / "pw"
    pw.write_text("pw\n")
    base = [sys.executable, "-m", "linkmargin_cli", "poll", "--gnmi", f"127.0.0.1:{port}", "--gnmi-plaintext"]
    try:
        out = subprocess.run(
            [*base, "--gnmi-user", "noc", "--gnmi-password-file", str(pw), "--device", dev],
            capture_output=True,
            text=True,
            timeout=60,
            env=os.environ,
        )
        bad = subprocess.run(
            [*base, "--gnmi-user", "noc", "--gnmi-password-env", "NOPE_UNSET"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        asyncio.run_coroutine_threadsafe(srv.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
    assert out.returncode == 0, out.stderr
    docs = [json.loads(x) for x in out.stdout.splitlines()]
    rx = [d for d in docs if d["metric"] == "rx_power_dbm" and d["value"] is not None]
    assert len(rx) > 10 and all(d["device"] == dev and 1 <= d["lane"] <= 8 for d in rx)
    assert {"ts", "device", "port", "lane", "metric", "value", "reason"} <= set(rx[0])
    assert any("counter" in d and d["counter_bits"] == 64 for d in docs)
    assert bad.returncode == 2 and "NOPE_UNSET" in bad.stderr and "Traceback" not in bad.stderr
