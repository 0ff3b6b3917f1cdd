"""What the counters and the port state say about a link, whatever its DOM says.

Every signal is evidence and none is explained away: a receiving port that, in the recent window,
flapped (oper status down and up) or was down while administratively up is out of margin now (at
most 0 dB); one that passed errors the FEC did not correct (uncorrectable codewords, post-FEC bit
errors, FCS errors) is at the margin the rate of uncorrectable codewords implies (0 dB where no rate
is counted), which may be a little above zero: the FEC limit BER is where the post-FEC error target
is met, not where codewords start to fail. The rate is inverted to a pre-FEC BER through the share
of codewords with more than t errored symbols (independent symbol errors, RS(n, 514) with
t = (n - 514) / 2: IEEE 802.3 Clause 91, see docs/ARCHITECTURE.md "Optical conventions") and that BER
to an OMA margin (:func:`linkmargin.budget.ber_margin_db`). Bursts put more errors in fewer
codewords, so more of them fail at a given BER: the BER read is an upper bound, the margin a lower one.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from linkmargin.budget import ber_margin_db

EVIDENCE_HOURS: Final = 24
"""The recent window: a flap or an uncorrectable codeword in the last day marks the link now."""
RS_K_SYMBOLS: Final = 514  # data symbols of both IEEE 802.3 Clause 91 codes (RS(528,514), RS(544,514))

CAUSES: Final = (
    ("flaps", "link_flapping", "{} flaps"),
    ("down_hours", "link_down", "{} h down"),
    ("uncorrectable_cw", "uncorrectable_codewords", "{} uncorrectable codewords"),
    ("post_fec_errors", "post_fec_errors", "{} post-FEC bit errors"),
    ("fcs_errors", "fcs_errors", "{} FCS errors"),
)
"""Evidence column, cause name, words: the first present names the cause (most direct first)."""

F64 = npt.NDArray[np.float64]


def _log_binom_tail(n: F64, t: F64, p_sym: F64) -> F64:
    """log P(more than t of n symbols errored), vectorized over lanes (n, t whole numbers)."""
    kmax = int(np.nanmax(n)) if n.size else 0
    k = np.arange(kmax + 1, dtype=np.float64)[None, :]
    lg = np.vectorize(math.lgamma)
    log_c = lg(n[:, None] + 1) - lg(k + 1) - lg(np.maximum(n[:, None] - k, 0) + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = log_c + k * np.log(p_sym[:, None]) + (n[:, None] - k) * np.log1p(-p_sym[:, None])
    terms = np.where((k > t[:, None]) & (k <= n[:, None]), terms, -np.inf)
    top = terms.max(axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return (top + np.log(np.exp(terms - top).sum(axis=1, keepdims=True)))[:, 0]


def ber_from_uncorrectable_fraction(frac: F64, n_symbols: F64, symbol_bits: F64, *, iters: int = 48) -> F64:
    """Pre-FEC BER at which a share ``frac`` of codewords fails (independent symbol errors); NaN: unknown."""
    out = np.full(frac.shape, np.nan)
    ok = np.isfinite(frac) & (frac > 0) & np.isfinite(n_symbols) & np.isfinite(symbol_bits)
    if not ok.any():
        return out
    n, m, f = n_symbols[ok], symbol_bits[ok], np.minimum(frac[ok], 0.999)
    t = np.floor((n - RS_K_SYMBOLS) / 2)
    lo, hi = np.full(f.shape, -12.0), np.full(f.shape, math.log10(0.5))  # log10 of the symbol error rate
    target = np.log(f)
    for _ in range(iters):
        mid = (lo + hi) / 2
        above = _log_binom_tail(n, t, 10.0**mid) > target
        hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
    p_sym = 10.0 ** ((lo + hi) / 2)
    out[ok] = -np.expm1(np.log1p(-p_sym) / m)
    return out


def judge(evidence: pl.DataFrame, lanes: pl.DataFrame, window_hours: int = EVIDENCE_HOURS) -> pl.DataFrame:
    """Per lane (spec order): the evidence counts, ``uncorrectable_rate`` (per second), the cause
    (null: no evidence), the margin the evidence allows (null: no bound) and the evidence in words."""
    ev = evidence.with_columns(
        lanes.select("port_rate_bps", "fec_n_symbols", "fec_symbol_bits", "fec_limit_ber")
    )
    n = ev["fec_n_symbols"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    m = ev["fec_symbol_bits"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    secs = ev["counter_hours"].to_numpy() * 3600.0
    unc = ev["uncorrectable_cw"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(secs > 0, unc / secs, 0.0)
        cw_per_s = ev["port_rate_bps"].fill_null(np.nan).to_numpy() / (n * m)
        frac = rate / cw_per_s
    ber = ber_from_uncorrectable_fraction(frac, n, m)
    implied = ber_margin_db(ber, ev["fec_limit_ber"].fill_null(np.nan).to_numpy())
    cause = pl.lit(None, dtype=pl.String)
    for col, name, _ in reversed(CAUSES):
        cause = pl.when(pl.col(col) > 0).then(pl.lit(name)).otherwise(cause)
    words = [
        pl.when(pl.col(col) > 0).then(pl.format(text, _count(col))).otherwise(None) for col, _, text in CAUSES
    ]
    return ev.select("uncorrectable_cw", "post_fec_errors", "fcs_errors", "flaps", "down_hours").with_columns(
        pl.Series("uncorrectable_rate", rate),
        cause.alias("evidence_cause"),
        # a flap or an hour down is out of margin; failed codewords alone bound the margin at what
        # their rate implies, which may be just above zero: the FEC limit is the BER at which a port
        # still fails a few codewords a day (at KP4's 2.4e-4 about 1e-12 of them), so a handful
        # says "at the limit", not "below it"; without a rate (post-FEC or FCS errors only): 0
        pl.when(cause.is_null())
        .then(None)
        .when((pl.col("flaps") > 0) | (pl.col("down_hours") > 0) | pl.Series(~np.isfinite(implied)))
        .then(pl.min_horizontal(pl.Series(implied).fill_nan(None), pl.lit(0.0)))
        .otherwise(pl.Series(implied))
        .alias("evidence_margin_db"),
        pl.when(cause.is_not_null())
        .then(
            pl.format(
                f"{{}} in the last {window_hours} h", pl.concat_str(words, separator=", ", ignore_nulls=True)
            )
        )
        .otherwise(None)
        .alias("evidence_text"),
    )


def _count(col: str) -> pl.Expr:
    """A count as a person reads it: whole numbers below a million, else 3 significant digits."""
    c = pl.col(col)
    exp = c.log10().floor()
    sci = pl.format("{}e{}", (c / pl.lit(10.0).pow(exp)).round(2), exp.cast(pl.Int64))
    return pl.when(c < 1e6).then(c.cast(pl.Int64).cast(pl.String)).otherwise(sci)


SPIKE_FACTOR: Final = 10.0
"""A reset read as a wrap would add ~2**32 or 2**64 to a counter: a rate this many times the hours
before it is a spike. Anything a reset did to the rates shows far above this."""


def counter_resets(resets: pl.DataFrame, hourly: pl.DataFrame) -> pl.DataFrame:
    """Per device, its last counter reset as evidence (not a fault): when, how many counters, and
    whether the rates derived across it spiked.

    ``resets`` is :attr:`analyzer.state.LaneState.resets`; ``hourly`` the state's hourly aggregates.
    Spiked: in the hour of the reset or the next, a port's pre-FEC BER above ``SPIKE_FACTOR`` times
    its highest of the three hours before, or errors (uncorrectable codewords, post-FEC bit errors,
    FCS errors) counted where the hours before counted none.
    Columns: device, at, rebooted, counters, ports, spiked, text.
    """
    schema = pl.Schema(
        {
            "device": pl.String(),
            "at": pl.Datetime("us", "UTC"),
            "rebooted": pl.Boolean(),
            "counters": pl.UInt32(),
            "ports": pl.UInt32(),
            "spiked": pl.Boolean(),
            "text": pl.String(),
        }
    )
    if resets.height == 0:
        return pl.DataFrame(schema=schema)
    last = resets.sort("at").group_by("device", maintain_order=True).last()
    last = last.with_columns((pl.col("at").dt.epoch("s") // 3600).alias("h0"))
    errs = ("fec_uncorrected_cw", "pcs_bit_errors", "fcs_errors")
    h = (
        hourly.filter(pl.col("metric").cast(pl.String).is_in(["pre_fec_ber", *errs]))
        .select(
            pl.col("device").cast(pl.String),
            "port",
            "lane",
            pl.col("metric").cast(pl.String),
            "hour",
            "mean",
            "sum",
        )
        .join(last.select("device", "h0"), on="device", how="inner")
        .filter(pl.col("hour").is_between(pl.col("h0") - 3, pl.col("h0") + 1))
        .with_columns((pl.col("hour") >= pl.col("h0")).alias("after"))
    )
    value = pl.when(pl.col("metric") == "pre_fec_ber").then(pl.col("mean")).otherwise(pl.col("sum"))
    per_key = (
        h.with_columns(value.alias("v"))
        .group_by("device", "port", "lane", "metric")
        .agg(
            pl.col("v").filter(~pl.col("after")).max().alias("before"),
            pl.col("v").filter(pl.col("after")).max().alias("after"),
        )
        .with_columns(
            pl.when(pl.col("metric") == "pre_fec_ber")
            .then(pl.col("after") > SPIKE_FACTOR * pl.col("before"))
            .otherwise((pl.col("after") > 0) & (pl.col("before").fill_null(0.0) == 0))
            .fill_null(False)
            .alias("spike")
        )
    )
    spiked = per_key.group_by("device").agg(pl.col("spike").any().alias("spiked"))
    out = last.join(spiked, on="device", how="left").with_columns(pl.col("spiked").fill_null(False))
    what = pl.when(pl.col("rebooted")).then(pl.lit("rebooted")).otherwise(pl.lit("cleared its counters"))
    rates = (
        pl.when(pl.col("spiked")).then(pl.lit("rates spiked after it")).otherwise(pl.lit("rates not spiked"))
    )
    text = pl.format(
        "{} {} at {}Z: {} counters on {} ports reset, {} (evidence, not a fault)",
        "device",
        what,
        pl.col("at").dt.strftime("%Y-%m-%d %H:%M"),
        "counters",
        "ports",
        rates,
    )
    return out.select("device", "at", "rebooted", "counters", "ports", "spiked", text.alias("text")).cast(
        dict(schema)  # type: ignore[arg-type]
    )
