"""`linkmargin lab serve --transport mixed --inventory-dir DIR`: SNMP agents for every switch, a gNMI
server for every second one, and an inventory whose gNMI devices a collector can stream from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from collector.gnmi.stream import snapshot
from linkmargin.inventory import load_inventory
from linkmargin_cli.wiring import gnmi_targets_from_inventory, targets_from_inventory
from tests.services import free_port

EXE = Path(sys.executable).with_name("linkmargin")


@pytest.mark.timeout(120)
async def test_lab_serve_mixed_writes_a_usable_inventory(tmp_path: Path) -> None:
    base = free_port()  # a TCP port free now; the lab's UDP agents take base.. base+N
    cmd = [str(EXE), "lab", "serve", "--transport", "mixed", "--inventory-dir", str(tmp_path)]
    cmd += ["--listen", f"127.0.0.1:{base}", "--refresh", "0.5"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("inventory: "):
                break
        inv_path = Path(lines[-1].split(": ", 1)[1].strip())
        assert inv_path == tmp_path / "inventory.yaml", "".join(lines)
        gnmi_rows = [ln for ln in lines if " gnmi " in ln]
        inv = load_inventory(inv_path)
        streamed = gnmi_targets_from_inventory(inv)
        assert len(streamed) == len(gnmi_rows) == len(inv.devices) // 2
        assert len(targets_from_inventory(inv)) == len(inv.devices) - len(streamed)
        assert all(str(t.port) in "".join(gnmi_rows) for t in streamed)
        got = await snapshot(streamed[0], ["dom"])  # the lab's password, read from the file it wrote
        assert got.filter(pl.col("metric") == "rx_power_dbm")["value"].is_not_null().sum() > 10
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.mark.parametrize("command", [["demo"], ["lab", "serve"]])
def test_an_unknown_lab_transport_is_one_line_and_exit_2(command: list[str], tmp_path: Path) -> None:
    r = subprocess.run(
        [str(EXE), *command, "--transport", "gmni", "--workdir" if command == ["demo"] else "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        f"{' '.join(command)}: --transport 'gmni': one of snmp, gnmi, mixed"
    ], r.stderr
