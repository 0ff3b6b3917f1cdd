"""Reflections found through the full SNMP path: links the analyzer says have a BER worse than their Rx
power explains, against the lab's true reflection penalty (lab.truth.reflections).

    linkmargin backtest --scenario bench/refl-10d.yaml --horizon 10d --step 2h --analyze-every 9d \\
        --min-lead 24h --save DIR
    python -m bench.reflections DIR --scenario bench/refl-10d.yaml
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from analyzer.advice import advise
from bench.wear_curve import saved_analysis
from lab.truth.reflections import reflection_truth

GROWTH_DB = 0.5
"""A link whose true penalty grew this much over the last week should be found (the detector's own
RISE_DB is not imported: the bench states its expectation)."""


def score(save: Path, scenario: str, seed: int | None = None) -> pl.DataFrame:
    """Per link: the lab's penalty and its growth beside what the analyzer flagged and advised."""
    an, sim = saved_analysis(save, scenario, seed)
    lanes = an.lanes.group_by("link").agg(
        pl.col("ber_beyond_rx").any().alias("flagged"),
        pl.col("ber_excess_db").max().alias("excess_db"),
        pl.col("ber_excess_rx_change_db").abs().max().alias("rx_moved_db"),
        pl.col("margin_db").min().alias("rx_margin_db"),
    )
    adv = advise(an, "7d", min_probability=0.0).select("link", "cause", "point", "action")
    return (
        reflection_truth(sim)
        .join(lanes, on="link", how="left")
        .join(adv, on="link", how="left")
        .sort("growth_db", descending=True)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("save", type=Path)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    t = score(a.save, a.scenario, a.seed)
    real = pl.col("growth_db") >= GROWTH_DB
    flagged = pl.col("flagged").fill_null(False)
    print(
        f"links {t.height}, gel {int(t['gel'].sum())}; "
        f"true growth >= {GROWTH_DB} dB: {t.filter(real).height}, "
        f"found {t.filter(real & flagged).height}; flagged {t.filter(flagged).height}, "
        f"of them with growth >= 0.2 dB: {t.filter(flagged & (pl.col('growth_db') >= 0.2)).height}"
    )
    with pl.Config(tbl_rows=30, tbl_cols=12, fmt_str_lengths=60, tbl_width_chars=200):
        print(t.filter((pl.col("growth_db") >= 0.2) | flagged))


if __name__ == "__main__":
    main()
