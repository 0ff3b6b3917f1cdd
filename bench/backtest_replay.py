"""Re-run the analyzer on a backtest's recorded samples and score it again, without the SNMP path.

``linkmargin backtest --save DIR`` keeps every sample the collector delivered (DIR/history) and the
ground truth (DIR/truth.parquet). This replays that history into a fresh analyzer at the same
forecast cadence (``--analyze-every``; by default the run's own, read off its saved forecasts), so an
analyzer change can be scored in a fraction of the full run's time. The
figures to report come from the full path (``linkmargin backtest``); this is a development tool.

    python -m bench.backtest_replay DIR --scenario bench/backtest-21d-small.yaml [--seed N]

``--bounded`` runs the passes the backtest runs (:class:`linkmargin_cli.passes.Passes`: a 7-day window
and the estimators' folded state) instead of the full recomputation. ``--lanes FILE`` keeps, at every
pass, the lane rows of each link forecast at ``--lanes-min-p`` or more: what the analyzer believed
(DOM, offset, BER and counter margins, the margin it forecast from and its sd, the slopes, the lane's P),
for diagnosing flags against the lab's lane truth; ``--lanes-link LINK`` (repeatable) keeps that link's
lanes at every pass whatever its P, for following a miss.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from ruamel.yaml import YAML

from analyzer.analysis import Analysis, analyze, margin_with_ber_bound
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
from linkmargin_cli.passes import Passes
from linkmargin_cli.wiring import planned_from_inventory, spec_from_inventory

LANE_COLUMNS = (
    "link", "device", "port", "lane", "direction", "rx_dbm", "sensitivity_dbm", "margin_db", "rx_offset_db",
    "calibrated_margin_db", "ber", "ber_margin_db", "evidence_margin_db", "evidence_cause", "level_dbm",
    "forecast_base_db", "drift_db_per_day", "drift_se", "ber_drift_db_per_day", "drift_shrunk",
    "drift_shrunk_sd", "recent_onset", "resid_sigma_db", "thermal_db_per_c", "temp_sd_c", "laser_failing",
    "far_bias_rise", "ber_beyond_rx", "ber_at_floor", "offset_hours", "history_hours",
)  # fmt: skip
"""What ``--lanes`` keeps of each lane (:class:`analyzer.analysis.Analysis` ``lanes``), with the margin the
forecast starts from (``m0_db``, ``m0_sd_db``) and the lane's forecast (``p_lane``, ``forecast_db``)."""


def lane_rows(an: Analysis, now: datetime, min_p: float, also: tuple[str, ...] = ()) -> pl.DataFrame:
    """The lanes of every link whose P reaches ``min_p`` at this pass, and of the links ``also`` at any
    P, as :data:`LANE_COLUMNS`."""
    links = an.forecasts["H"].filter((pl.col("p_cross") >= min_p) | pl.col("link").is_in(list(also)))["link"]
    m0, m0_sd = margin_with_ber_bound(an.lanes)
    lf = an.lane_forecasts["H"]
    cols = [c for c in LANE_COLUMNS if c in an.lanes.columns]
    return (
        an.lanes.select(*cols)
        .with_columns(
            pl.lit(now).alias("issued_at"),
            pl.Series("m0_db", m0),
            pl.Series("m0_sd_db", m0_sd),
            lf["p_cross"].alias("p_lane"),
            lf["forecast_db"],
        )
        .filter(pl.col("link").is_in(links.implode()))
    )


class _History:
    """The recorded samples a day partition at a time, handed out in time order (a 21-day run of the
    full fleet is tens of millions of samples: read whole, several GB)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.days = sorted(
            date.fromisoformat(d.name.split("=", 1)[1]) for d in root.glob("date=*") if d.is_dir()
        )
        assert self.days, f"{root}: no samples in the history"
        self.pending = self._day(self.days.pop(0))
        start = self.pending["ts"].min()
        assert isinstance(start, datetime), f"{root}: no samples in the history"
        self.start = start

    def _day(self, day: date) -> pl.DataFrame:
        read = read_history(list_history(self.root, since=day, until=day))
        return conform(read if read is not None else empty_samples()).sort("ts")

    def upto(self, t: datetime) -> pl.DataFrame:
        """The samples at or before ``t`` not handed out yet."""
        while self.days and self.days[0] <= t.date():
            self.pending = pl.concat([self.pending, self._day(self.days.pop(0))], how="vertical_relaxed")
        out = self.pending.filter(pl.col("ts") <= t)
        self.pending = self.pending.filter(pl.col("ts") > t)
        return out


def replay(
    save: Path,
    scenario: str,
    analyze_s: float,
    horizon_s: float,
    min_lead_s: float,
    seed: int | None = None,
    step_s: float = 3600.0,
    *,
    bounded: bool = False,
    lanes_out: Path | None = None,
    lanes_min_p: float = 0.5,
    lanes_links: tuple[str, ...] = (),
    tag: str = "",
) -> dict[str, Any]:
    """Scores of a fresh analyzer fed the recorded history, forecasting every ``analyze_s``: the full
    recomputation at each pass, or the backtest's bounded passes (``bounded``); ``lanes_out``: where to
    write the lanes of the links forecast at ``lanes_min_p`` or more (:func:`lane_rows`)."""
    days = _History(save / "history")
    start = days.start
    sc = replace(load_scenario(scenario, seed), start=start)
    with tempfile.TemporaryDirectory() as tmp:
        inv_path = Path(tmp) / "inventory.yaml"
        YAML().dump(implied_inventory(FabricSim(sc), secrets_dir=Path(tmp)), inv_path.open("w"))
        os.environ.setdefault("LINKMARGIN_LAB_COMMUNITY", sc.community)
        inv = load_inventory(inv_path)
        spec, planned = spec_from_inventory(inv), planned_from_inventory(inv)
    state = LaneState(spec)
    runner = Passes(spec, full=not bounded)
    seen: list[Analysis] = []

    def run(st: LaneState, **kw: Any) -> Analysis:
        seen.append(runner.run(st, **kw) if bounded else analyze(st, **kw))
        return seen[-1]

    lanes_kept: list[pl.DataFrame] = []
    end = start + timedelta(seconds=sc.duration_s)
    passes: list[ForecastPass] = []
    t = start + timedelta(seconds=analyze_s)
    while t < end:
        state.ingest(days.upto(t))
        rx_history = runner.rx_history if bounded else None
        fp = forecast_pass(
            state,
            t,
            end,
            horizon_s,
            planned,
            run=run,
            work_within_s=analyze_s,
            **({"rx_history": rx_history} if rx_history else {}),
        )
        if fp is not None:
            passes.append(fp)
            if lanes_out is not None:
                lanes_kept.append(lane_rows(seen[-1], t, lanes_min_p, lanes_links))
        seen.clear()
        t += timedelta(seconds=analyze_s)
    if lanes_out is not None and lanes_kept:
        pl.concat(lanes_kept, how="diagonal_relaxed").write_parquet(lanes_out)
    truth = pl.read_parquet(save / "truth.parquet")
    if "below" not in truth.columns:
        # saved before the truth kept its spans below zero: computed again from the same scenario
        sim = FabricSim(sc)
        truth = truth_crossings(sim, step_s)
        # the causes read the same sim the truth ran (its lasers' aging state is set as it runs)
        truth = truth.join(crossing_causes(sim, truth, min_lead_s), on="link", how="left")
        truth.write_parquet(save / "truth.parquet")
    fc = pl.concat(p.forecasts for p in passes)
    fc.write_parquet(save / f"forecasts-replay{tag}.parquet")
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


def run_cadence_s(save: Path, default_s: float = 6 * 3600.0) -> float:
    """The time between the recorded run's passes, read off its saved forecasts (the backtest's default,
    6 h, when there are none): a replay at another cadence does not reproduce the run."""
    path = save / "forecasts.parquet"
    if not path.exists():
        return default_s
    issued = pl.read_parquet(path, columns=["issued_at"])["issued_at"].unique().sort()
    if issued.len() < 2:
        return default_s
    return float(issued.diff().drop_nulls().min().total_seconds())  # type: ignore[union-attr]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("save", type=Path)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--analyze-every", default=None, help="default: the recorded run's, from its forecasts")
    ap.add_argument("--horizon", default="21d")
    ap.add_argument("--min-lead", default="48h")
    ap.add_argument("--seed", type=int, default=None, help="the seed the run was made with")
    ap.add_argument("--step", default="1h", help="the run's poll step (the truth's, if computed again)")
    ap.add_argument("--bounded", action="store_true", help="the backtest's bounded passes (default: full)")
    ap.add_argument("--lanes", type=Path, default=None, help="write the lanes of links at P >= --lanes-min-p")
    ap.add_argument("--lanes-min-p", type=float, default=0.5)
    ap.add_argument("--lanes-link", action="append", default=[], help="also keep this link's lanes (any P)")
    ap.add_argument("--tag", default="", help="suffix of the forecasts written: forecasts-replayTAG.parquet")
    ap.add_argument("--out", type=Path, default=None, help="also write the scores' JSON here")
    a = ap.parse_args()
    scores = replay(
        a.save,
        a.scenario,
        run_cadence_s(a.save) if a.analyze_every is None else parse_duration(a.analyze_every),
        parse_duration(a.horizon),
        parse_duration(a.min_lead),
        a.seed,
        parse_duration(a.step),
        bounded=a.bounded,
        lanes_out=a.lanes,
        lanes_min_p=a.lanes_min_p,
        lanes_links=tuple(a.lanes_link),
        tag=a.tag,
    )
    text = json.dumps(scores, default=str, indent=1)
    if a.out is not None:
        a.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
