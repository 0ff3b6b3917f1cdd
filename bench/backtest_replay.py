"""Re-run the analyzer on a backtest's recorded samples and score it again, without the SNMP path.

``linkmargin backtest --save DIR`` keeps every sample the collector delivered (DIR/history) and the
ground truth (DIR/truth.parquet). This replays that history into a fresh analyzer at the same
forecast cadence, so an analyzer change can be scored in a fraction of the full run's time. The
figures to report come from the full path (``linkmargin backtest``); this is a development tool.

    python -m bench.backtest_replay DIR --scenario bench/backtest-21d-small.yaml [--seed N]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from ruamel.yaml import YAML

from analyzer.backtest import (
    ForecastPass,
    cohort_recovery,
    forecast_pass,
    planned_work_scores,
    score_with_baseline,
)
from analyzer.state import LaneState
from lab.physics.sim import FabricSim
from lab.scenario import load_scenario
from lab.truth import cohort_truth, crossing_causes
from lab.truth import inventory as implied_inventory
from linkmargin.durations import parse_duration
from linkmargin.history import list_history, read_history
from linkmargin.inventory import load_inventory
from linkmargin.samples import conform, empty_samples
from linkmargin_cli.backtest_run import truth_crossings
from linkmargin_cli.wiring import planned_from_inventory, spec_from_inventory


def replay(
    save: Path,
    scenario: str,
    analyze_s: float,
    horizon_s: float,
    min_lead_s: float,
    seed: int | None = None,
    step_s: float = 3600.0,
) -> dict[str, Any]:
    """Scores of a fresh analyzer fed the recorded history, forecasting every ``analyze_s``."""
    read = read_history(list_history(save / "history"))
    hist = conform(read if read is not None else empty_samples()).sort("ts")
    start = hist["ts"].min()
    assert isinstance(start, datetime), f"{save}: no samples in the history"
    sc = replace(load_scenario(scenario, seed), start=start)
    with tempfile.TemporaryDirectory() as tmp:
        inv_path = Path(tmp) / "inventory.yaml"
        YAML().dump(implied_inventory(FabricSim(sc), secrets_dir=Path(tmp)), inv_path.open("w"))
        os.environ.setdefault("LINKMARGIN_LAB_COMMUNITY", sc.community)
        inv = load_inventory(inv_path)
        spec, planned = spec_from_inventory(inv), planned_from_inventory(inv)
    state = LaneState(spec)
    end = start + timedelta(seconds=sc.duration_s)
    passes: list[ForecastPass] = []
    t = start + timedelta(seconds=analyze_s)
    done = start
    while t < end:
        state.ingest(
            hist.filter((pl.col("ts") > done) & (pl.col("ts") <= t))
            if done > start
            else hist.filter(pl.col("ts") <= t)
        )
        done = t
        if (fp := forecast_pass(state, t, end, horizon_s, planned)) is not None:
            passes.append(fp)
        t += timedelta(seconds=analyze_s)
    truth = pl.read_parquet(save / "truth.parquet")
    if "below" not in truth.columns:
        # saved before the truth kept its spans below zero: computed again from the same scenario
        sim = FabricSim(sc)
        truth = truth_crossings(sim, step_s)
        # the causes read the same sim the truth ran (its lasers' aging state is set as it runs)
        truth = truth.join(crossing_causes(sim, truth, min_lead_s), on="link", how="left")
        truth.write_parquet(save / "truth.parquet")
    fc = pl.concat(p.forecasts for p in passes)
    fc.write_parquet(save / "forecasts-replay.parquet")
    scores = score_with_baseline(
        fc,
        pl.concat(p.snapshots for p in passes),
        truth,
        horizon=timedelta(seconds=horizon_s),
        min_lead_hours=min_lead_s / 3600,
        end=end,
    )
    scores["planned_work"] = planned_work_scores(fc, truth, planned, lead_hours=min_lead_s / 3600)
    scores["cohorts"] = cohort_recovery(passes[-1].cohorts, cohort_truth(FabricSim(sc))).to_dicts()
    return scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("save", type=Path)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--analyze-every", default="12h")
    ap.add_argument("--horizon", default="21d")
    ap.add_argument("--min-lead", default="48h")
    ap.add_argument("--seed", type=int, default=None, help="the seed the run was made with")
    ap.add_argument("--step", default="1h", help="the run's poll step (the truth's, if computed again)")
    a = ap.parse_args()
    scores = replay(
        a.save,
        a.scenario,
        parse_duration(a.analyze_every),
        parse_duration(a.horizon),
        parse_duration(a.min_lead),
        a.seed,
        parse_duration(a.step),
    )
    print(json.dumps(scores, default=str, indent=1))


if __name__ == "__main__":
    main()
