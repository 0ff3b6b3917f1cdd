from __future__ import annotations

import json
from datetime import timedelta

import polars as pl
from typer.testing import CliRunner

from linkmargin_cli import app

from . import scenario
from .helpers import T0


def test_risk_command_json_csv_png(tmp_path) -> None:
    spec, frame = scenario.build()
    spec.write_dir(str(tmp_path / "spec"))
    hist = tmp_path / "hist"
    hist.mkdir()
    half = frame.height // 2
    frame.slice(0, half).write_parquet(hist / "part-0.parquet")
    frame.slice(half).write_parquet(hist / "part-1.parquet")
    (tmp_path / "job.txt").write_text("L-dirty\nL-ok\n")
    # a planned re-mating of the healthy link's MMC in the maintenance window adds step risk
    pl.DataFrame(
        {"point": ["L-ok-mmc"], "ts": [T0 + timedelta(days=scenario.DAYS + 2)], "kind": ["mated"]}
    ).write_csv(tmp_path / "planned.csv")
    res = CliRunner().invoke(
        app,
        [
            "risk",
            "--spec",
            str(tmp_path / "spec"),
            "--history",
            str(hist),
            "--horizon",
            "21d",
            "--json",
            "--csv",
            str(tmp_path / "r.csv"),
            "--png",
            str(tmp_path / "r.png"),
            "--planned",
            str(tmp_path / "planned.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["horizon"] == "21d"
    ranked = [r["link"] for r in doc["links"]]
    assert ranked[0] == "L-optic"
    ok = next(r for r in doc["links"] if r["link"] == "L-ok")
    assert ok["planned_matings"] == 1
    assert (tmp_path / "r.png").stat().st_size > 10_000
    assert pl.read_csv(tmp_path / "r.csv").height == 3
    res = CliRunner().invoke(
        app,
        [
            "risk",
            "--spec",
            str(tmp_path / "spec"),
            "--history",
            str(hist),
            "--links",
            str(tmp_path / "job.txt"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "L-dirty" in res.stdout and "L-optic" not in res.stdout
    assert "…" not in res.stdout  # not a terminal (as in `risk ... > out.txt`): whole cells


def test_risk_command_rejects_bad_horizon(tmp_path) -> None:
    res = CliRunner().invoke(
        app, ["risk", "--spec", str(tmp_path), "--history", str(tmp_path), "--horizon", "soon"]
    )
    assert res.exit_code != 0


def test_risk_reads_the_inventory_and_reports_its_errors_by_position(tmp_path) -> None:
    """`--inventory` goes through the one inventory -> analyzer mapping; a bad file is FILE:LINE:COL."""
    bad = tmp_path / "inv.yaml"
    bad.write_text("site: dc1\ndevices:\n  - {name: s1, address: 127.0.0.1, credentails: x}\nlinks: []\n")
    res = CliRunner().invoke(app, ["risk", "--inventory", str(bad), "--history", str(tmp_path)])
    assert res.exit_code == 2
    assert f"{bad}:3:" in res.output and "credentails" in res.output
    assert "Traceback" not in res.output
