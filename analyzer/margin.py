"""Margin now: per lane and direction, and per link (its worst lane/direction).

- Power margin (dB) = Rx average power (DOM) - PMD sensitivity expressed as average power. The spec
  carries the sensitivity already converted from OMA with the ER correction
  (docs/ARCHITECTURE.md "Optical conventions", "OMA[dBm] = Pavg[dBm] + 10·log10(2(ER−1)/(ER+1))" [D]).
- Warning margin (dB) = Rx - the module's own low-warning threshold (published one, else the spec's).
- BER margin (decades) = log10(FEC limit) - log10(pre-FEC BER) (docs/ARCHITECTURE.md
  "Optical conventions"), and in dB: the OMA margin that BER implies for a Gaussian-noise decision
  (:func:`linkmargin.budget.ber_margin_db`).
- Excess loss (dB) = (far-end Tx - Rx) - expected channel loss from the link budget.

The effective margin is the lower of the power margin, corrected by the module's DOM offset where its
BER has measured one (``rx_offset_db``, :mod:`analyzer.calibration`), and the BER margin in dB.
"""

from __future__ import annotations

import polars as pl

from linkmargin.budget import ber_margin_db


def lane_margins(lane_latest: pl.DataFrame) -> pl.DataFrame:
    """Add margin columns to :meth:`LaneState.lane_latest` output (one row per spec lane).

    An ``rx_offset_db`` column (DOM offset per lane, null: unknown) corrects the power margin.
    """
    if "rx_offset_db" not in lane_latest.columns:
        lane_latest = lane_latest.with_columns(pl.lit(None, dtype=pl.Float64).alias("rx_offset_db"))
    ber_dec = pl.col("fec_limit_ber").log10() - pl.col("ber").log10()
    implied = ber_margin_db(
        lane_latest["ber"].fill_null(0.0).to_numpy(),
        lane_latest["fec_limit_ber"].fill_null(float("nan")).to_numpy(),
    )
    return (
        lane_latest.with_columns(
            (pl.col("rx_dbm") - pl.col("sensitivity_dbm")).alias("margin_db"),
            (pl.col("rx_dbm") - pl.col("low_warn_used_dbm")).alias("warn_margin_db"),
            # a zero BER (no corrected codeword in the interval) bounds nothing: no BER margin
            pl.when(pl.col("ber") > 0).then(ber_dec).otherwise(None).alias("ber_margin_dec"),
            pl.Series("ber_margin_db", implied).fill_nan(None),
            (pl.col("far_tx_dbm") - pl.col("rx_dbm") - pl.col("expected_loss_db")).alias("excess_loss_db"),
        )
        .with_columns(
            (pl.col("margin_db") - pl.col("rx_offset_db").fill_null(0.0)).alias("calibrated_margin_db"),
        )
        .with_columns(
            pl.min_horizontal("calibrated_margin_db", "ber_margin_db").alias("effective_margin_db"),
        )
    )


def link_margins(lanes: pl.DataFrame) -> pl.DataFrame:
    """Per link: worst power/warning/BER margin over its lanes and both directions, worst excess loss."""
    worst = lanes.sort("effective_margin_db", nulls_last=True).group_by("link", maintain_order=True)
    return worst.agg(
        pl.col("effective_margin_db").min().alias("link_margin_db"),
        pl.col("margin_db").min().alias("power_margin_db"),
        pl.col("warn_margin_db").min(),
        pl.col("ber_margin_dec").min(),
        pl.col("excess_loss_db").max(),
        pl.col("device").first().alias("worst_device"),
        pl.col("port").first().alias("worst_port"),
        pl.col("lane").first().alias("worst_lane"),
        pl.col("direction").first().alias("worst_direction"),
    ).sort("link_margin_db", nulls_last=True)
