from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.services import free_port

from . import scenario


def test_analyze_command_serves_metrics(tmp_path: Path) -> None:
    spec, frame = scenario.build(scenario.recent_t0())  # the analyzer keeps its wall clock's window
    spec.write_dir(str(tmp_path / "spec"))
    (tmp_path / "hist").mkdir()
    frame.write_parquet(tmp_path / "hist" / "s.parquet")
    port = free_port()
    exe = Path(sys.executable).with_name("linkmargin")
    proc = subprocess.Popen(
        [
            str(exe),
            "analyze",
            "--spec",
            str(tmp_path / "spec"),
            "--history",
            str(tmp_path / "hist"),
            "--metrics-port",
            str(port),
            "--every",
            "0.5",
            "--duration",
            "20",
            "--horizon",
            "21d",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        text = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "linkmargin_risk_probability{" not in text:
            time.sleep(0.5)
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
            except OSError:
                continue
        assert 'linkmargin_risk_probability{horizon="21d",link="L-optic"}' in text
        suspect = r'_suspect_point_info\{action="[^"]+",cause="optic_tx_failing",link="L-optic"'
        assert re.search(suspect, text)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert "rebuilt state from" in out
    assert "L-optic: ok -> critical" in out, out + err
