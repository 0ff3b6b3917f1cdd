"""Mating wear: the hazard of a loss step per mating as a function of the point's mating count.

A connector's end face wears with its matings; the catalog rates each type for some number of cycles
(``rated_matings``: MPO/MTP 500, field MMC about 50). The analyzer does not assume a shape for the wear:
it bins the fleet's observed matings by the count the point had reached, relative to its type's rated
cycles (``x = count / rated``), per cohort (connector family x termination), and reads in each bin

- P(step per mating): Beta posterior whose prior is the cohort's own figure over all its bins, 95 %
  interval from its quantiles;
- the step size: the mean of the steps seen shrunk toward the cohort's size, its sd, and a normal
  95 % interval of the mean.

The cohort's figure is the cohort table's (:mod:`analyzer.cohorts`): the catalog's ``mating_priors``
for the termination, worth ``PRIOR_MATINGS`` matings and ``PRIOR_STEPS`` steps, updated by every
mating of the cohort. So a bin is pooled toward what its cohort shows, not toward the catalog (field
MMC steps of 3 dB against a catalog's 1 dB), with the same weights. A bin's prior leaves the bin's own
matings out, so a cohort whose matings all fall in one bin reads the same figures from both.

Why bins and not a parametric curve: a logistic in log(count) cannot level off below 1 and a fitted
shape would have to be guessed; a binned posterior is honest about where the fleet has matings and
where it has none. A point's hazard at its count is read between the two nearest bins with matings
(linearly in ``x``), flat beyond the outermost ones; a cohort with no matings in any bin keeps the
cohort's count-free figure (:mod:`analyzer.cohorts`).

The statistics are mergeable: :func:`wear_stats` gives one row per (family, termination, wear_bin)
with columns that add up (matings, steps, sums of x, of the count, of step sizes and their squares),
so shards can publish theirs and a sum over the keys is the fleet's
(:func:`analyzer.fleetstats.merge_stats`, published with the cohort statistics); :func:`wear_curve` turns any
such frame into estimates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import numpy as np
import polars as pl

from analyzer.cohorts import PRIOR_MATINGS, PRIOR_STEPS
from linkmargin.catalog import mating_prior

WEAR_EDGES: Final = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.85, 1.0, 1.25, 1.6, 2.0, 3.0, 5.0)
"""Lower edges of the wear bins in matings / rated cycles (the last bin is open). Finer where wear
begins (around the rated figure), coarse far below and far past it. A modelling choice."""
UNRATED_BIN: Final = -1
"""The bin of points whose type has no rated cycles (or a count not known)."""
MIN_BIN_MATINGS: Final = 3
"""A bin needs this many matings before the curve reads from it."""
_Z: Final = 1.959963984540054
_RNG_SEED: Final = 20260119

KEYS: Final = ("family", "termination", "wear_bin")
STATS_SCHEMA: Final = pl.Schema(
    {
        "family": pl.String(),
        "termination": pl.String(),
        "wear_bin": pl.Int16(),
        "matings": pl.Float64(),  # counts as floats: every statistic is a float, keys are not
        "steps": pl.Float64(),  # (the generic merge, analyzer.fleetstats.merge_stats)
        "x_sum": pl.Float64(),
        "count_sum": pl.Float64(),
        "loss_sum": pl.Float64(),
        "loss_sq_sum": pl.Float64(),
    }
)


def wear_x(count: pl.Expr, rated: pl.Expr) -> pl.Expr:
    """Matings relative to the rated cycles (null where the type is not rated)."""
    return pl.when(rated > 0).then(count.cast(pl.Float64) / rated).otherwise(None)


def wear_bin(x: pl.Expr) -> pl.Expr:
    """The wear bin (index into :data:`WEAR_EDGES`) of ``x``; :data:`UNRATED_BIN` where ``x`` is null."""
    idx = pl.lit(0, dtype=pl.Int16)
    for i, edge in enumerate(WEAR_EDGES[1:], start=1):
        idx = pl.when(x >= edge).then(pl.lit(i, dtype=pl.Int16)).otherwise(idx)
    return pl.when(x.is_null()).then(pl.lit(UNRATED_BIN, dtype=pl.Int16)).otherwise(idx)


def wear_stats(outcomes: pl.DataFrame) -> pl.DataFrame:
    """Mergeable sufficient statistics per (family, termination, wear_bin) from mating outcomes.

    ``outcomes`` has one row per observed mating: family, termination, ``matings_at`` (the point's
    count before it), ``rated_matings``, ``stepped`` and ``loss_db``
    (:func:`analyzer.cohorts.mating_outcomes`).
    """
    if outcomes.height == 0 or "matings_at" not in outcomes.columns:
        return pl.DataFrame(schema=STATS_SCHEMA)
    x = wear_x(pl.col("matings_at"), pl.col("rated_matings"))
    loss = pl.when(pl.col("stepped")).then(pl.col("loss_db")).otherwise(0.0).fill_null(0.0)
    return (
        outcomes.with_columns(x.alias("_x"))
        .with_columns(wear_bin(pl.col("_x")).alias("wear_bin"), loss.alias("_loss"))
        .group_by(KEYS)
        .agg(
            pl.len().cast(pl.Float64).alias("matings"),
            pl.col("stepped").sum().cast(pl.Float64).alias("steps"),
            pl.col("_x").fill_null(0.0).sum().alias("x_sum"),
            pl.col("matings_at").cast(pl.Float64).fill_null(0.0).sum().alias("count_sum"),
            pl.col("_loss").sum().alias("loss_sum"),
            (pl.col("_loss") ** 2).sum().alias("loss_sq_sum"),
        )
        .select(list(STATS_SCHEMA))
        .cast(STATS_SCHEMA)
        .sort(KEYS)
    )


def _beta_quantiles(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2.5 % and 97.5 % quantiles of Beta(a, b), per row, by sampling (numpy only, seeded)."""
    rng = np.random.default_rng(_RNG_SEED)
    lo, hi = np.empty(a.size), np.empty(a.size)
    for i in range(a.size):  # one row per bin: tens, not lanes
        d = rng.beta(a[i], b[i], 20_000)
        lo[i], hi[i] = np.quantile(d, 0.025), np.quantile(d, 0.975)
    return lo, hi


def wear_curve(stats: pl.DataFrame) -> pl.DataFrame:
    """Estimates per (family, termination, wear_bin) from a stats frame: P(step) and step size, with 95 %
    intervals, the bin's edges and mean count, and how many matings and steps they rest on."""
    if stats.height == 0:
        return stats.with_columns(
            *(
                pl.lit(None, dtype=pl.Float64).alias(c)
                for c in (
                    "x_lo",
                    "x_hi",
                    "x_mean",
                    "count_mean",
                    "p_step",
                    "p_step_lo",
                    "p_step_hi",
                    "step_db",
                    "step_db_lo",
                    "step_db_hi",
                    "step_db_sd",
                )
            )
        )
    terms = stats["termination"].to_list()
    pr = [mating_prior("field" if t == "*" else t) for t in terms]
    p0 = np.array([float(x.p_step.value or 0.0) for x in pr])
    s0 = np.array([float(x.step_db.value or 0.0) for x in pr])
    n, k = stats["matings"].to_numpy().astype(float), stats["steps"].to_numpy().astype(float)
    s1, s2 = stats["loss_sum"].to_numpy(), stats["loss_sq_sum"].to_numpy()
    # each bin is shrunk toward its cohort over all its bins (itself shrunk toward the catalog), not
    # toward the catalog: a cohort whose steps are three times the catalog's size has bins that say so
    cp, cs, csd = _cohort_prior(stats, p0, s0)
    a = PRIOR_MATINGS * cp + k
    b = PRIOR_MATINGS * (1 - cp) + n - k
    lo, hi = _beta_quantiles(a, b)
    _, mean, sd = _pooled(cp, cs, csd, n, k, s1, s2)
    half = _Z * sd / np.sqrt(PRIOR_STEPS + k)
    edges = np.array([*WEAR_EDGES, np.inf])
    bins = stats["wear_bin"].to_numpy().astype(int)
    rated = bins >= 0
    return stats.with_columns(
        pl.Series("x_lo", np.where(rated, edges[np.clip(bins, 0, None)], np.nan)).fill_nan(None),
        pl.Series("x_hi", np.where(rated, edges[np.clip(bins, 0, None) + 1], np.nan)).fill_nan(None),
        (pl.col("x_sum") / pl.col("matings")).alias("x_mean"),
        (pl.col("count_sum") / pl.col("matings")).alias("count_mean"),
        pl.Series("p_step", a / (a + b)),
        pl.Series("p_step_lo", lo),
        pl.Series("p_step_hi", hi),
        pl.Series("step_db", mean).fill_nan(None),
        pl.Series("step_db_lo", mean - half).fill_nan(None),
        pl.Series("step_db_hi", mean + half).fill_nan(None),
        pl.Series("step_db_sd", sd).fill_nan(None),
    )


def _cohort_prior(
    stats: pl.DataFrame, p0: np.ndarray, s0: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per stats row: the prior of its bin, its cohort's (family, termination) P(step), step size and
    sd from the cohort's *other* bins, estimated as the cohort table does (:mod:`analyzer.cohorts`):
    the catalog's figures (``p0``, ``s0``, spread half the size) worth ``PRIOR_MATINGS`` matings and
    ``PRIOR_STEPS`` steps, updated by those matings. Leaving the bin's own out keeps its data from
    counting twice: a cohort whose matings all fall in one bin reads the cohort table's figures there.
    Sums over a cohort's bins merge like the bins, so shards agree on it."""
    cols = ("matings", "steps", "loss_sum", "loss_sq_sum")
    others = stats.select(*(pl.col(c).sum().over("family", "termination") - pl.col(c) for c in cols))
    n, k, s1, s2 = (others[c].to_numpy().astype(float) for c in cols)
    return _pooled(p0, s0, 0.5 * s0, n, k, s1, s2)


def _pooled(
    p_prior: np.ndarray,
    size_prior: np.ndarray,
    sd_prior: np.ndarray,
    n: np.ndarray,
    k: np.ndarray,
    s1: np.ndarray,
    s2: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(step), step size and its sd from ``n`` matings with ``k`` steps (sizes summing to ``s1``, their
    squares to ``s2``) pooled with a prior worth ``PRIOR_MATINGS`` matings and ``PRIOR_STEPS`` steps
    (the cohort table's weights, :mod:`analyzer.cohorts`)."""
    p = (PRIOR_MATINGS * p_prior + k) / (PRIOR_MATINGS + n)
    with np.errstate(invalid="ignore", divide="ignore"):
        size = (PRIOR_STEPS * size_prior + s1) / (PRIOR_STEPS + k)
        ss = np.where(k > 1, np.maximum(s2 - s1 * s1 / np.maximum(k, 1.0), 0.0), 0.0)
        sd = np.sqrt(((PRIOR_STEPS - 1) * sd_prior**2 + ss) / (PRIOR_STEPS - 1 + np.maximum(k - 1, 0)))
    return p, size, sd


_READ = ("p_step", "p_step_lo", "p_step_hi", "step_db", "step_db_sd")


def hazard_at(curve: pl.DataFrame, points: pl.DataFrame) -> pl.DataFrame:
    """``points`` (family, termination, ``matings_at``: the count before the mating, ``rated_matings``)
    with the curve's P(step) [95 %] and step size at that count; null where the cohort's curve has no
    bin with :data:`MIN_BIN_MATINGS` matings (the caller falls back to the count-free cohort figure).

    Between two bins with matings the figures are interpolated linearly in ``x`` at the bins' mean
    ``x``; beyond the outermost they are the outermost bin's.
    """
    out = {c: np.full(points.height, np.nan) for c in _READ}
    if points.height and curve.height:
        x = (
            points.select(wear_x(pl.col("matings_at"), pl.col("rated_matings")).fill_null(np.nan))
            .to_series()
            .to_numpy()
        )
        fam, term = points["family"].to_numpy(), points["termination"].to_numpy()
        use = curve.filter((pl.col("matings") >= MIN_BIN_MATINGS) & (pl.col("wear_bin") >= 0))
        for (cf, ct), grp in use.sort("x_mean").group_by("family", "termination", maintain_order=True):
            sel = (fam == cf) & (term == ct) & np.isfinite(x)
            if not sel.any():
                continue
            xm = grp["x_mean"].to_numpy()
            for c in _READ:
                y = grp[c].to_numpy().astype(float)
                ok = np.isfinite(y)
                if ok.any():
                    out[c][sel] = np.interp(x[sel], xm[ok], y[ok])
    return points.with_columns(pl.Series(c, v).fill_nan(None) for c, v in out.items())


def point_counts(points: pl.DataFrame, events: pl.DataFrame, now: datetime | None) -> pl.DataFrame:
    """Each point's mating count at ``now`` (all recorded events when None): the count after its
    latest event by then, else its matings before records."""
    ev = events if now is None else events.filter(pl.col("ts") <= now)
    last = ev.sort("ts").group_by("point").agg(pl.col("matings").last().alias("_n"))
    return (
        points.join(last, on="point", how="left")
        .with_columns(
            pl.coalesce("_n", "matings_before_records").fill_null(0).cast(pl.Int64).alias("matings")
        )
        .drop("_n")
    )


def wear_recovery(curve: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """The curve's P(step) [95 %] at each of ``truth``'s counts beside the true value, and whether the
    interval covers it. ``truth``: family, termination, ``matings`` (the count before the mating),
    ``rated_matings``, ``p_step`` (handed over as data: the analyzer never sees how it was made)."""
    est = hazard_at(
        curve,
        truth.select("family", "termination", pl.col("matings").alias("matings_at"), "rated_matings"),
    )
    bins = truth.select(
        wear_bin(wear_x(pl.col("matings"), pl.col("rated_matings"))).alias("wear_bin"),
        "family",
        "termination",
    ).join(curve.select(*KEYS, pl.col("matings").alias("bin_matings")), on=list(KEYS), how="left")
    return pl.DataFrame(
        {
            "family": truth["family"],
            "termination": truth["termination"],
            "matings": truth["matings"],
            "bin_matings": bins["bin_matings"].fill_null(0),
            "estimate": est["p_step"],
            "lo": est["p_step_lo"],
            "hi": est["p_step_hi"],
            "true": truth["p_step"],
        }
    ).with_columns(
        ((pl.col("lo") <= pl.col("true")) & (pl.col("true") <= pl.col("hi"))).fill_null(False).alias("inside")
    )


_HAZARD = ("p_step", "p_step_lo", "p_step_hi")


def point_hazard(point_wear: pl.DataFrame, cohort_table: pl.DataFrame) -> pl.DataFrame:
    """Every point (link, point, family, termination, ``matings`` now, ``rated_matings``) with the hazard
    of a loss step at its next mating [95 %] as the forecasts use it: the wear curve's at its count
    (:func:`hazard_at`), else its cohort's count-free figure, else the fleet's (``*``); ``hazard_from``
    says which (``curve``, ``cohort``, ``fleet``)."""
    schema = {
        "link": pl.String,
        "point": pl.String,
        "family": pl.String,
        "termination": pl.String,
        "matings": pl.Int64,
        "rated_matings": pl.Float64,
        **{c: pl.Float64 for c in _HAZARD},
        "hazard_from": pl.String,
    }
    if point_wear.height == 0 or "matings" not in point_wear.columns:
        return pl.DataFrame(schema=schema)
    tbl = cohort_table.select("family", "termination", *(pl.col(c).alias(f"_c_{c}") for c in _HAZARD))
    fleet = tbl.filter(pl.col("family") == "*").drop("family", "termination")
    fleet = fleet.rename({f"_c_{c}": f"_f_{c}" for c in _HAZARD}).head(1)
    pw = point_wear.join(tbl, on=["family", "termination"], how="left")
    pw = (
        pw.join(fleet, how="cross")
        if fleet.height
        else pw.with_columns(pl.lit(None, dtype=pl.Float64).alias(f"_f_{c}") for c in _HAZARD)
    )
    return pw.select(
        pl.col("link").cast(pl.String),
        pl.col("point").cast(pl.String),
        pl.col("family").cast(pl.String),
        pl.col("termination").cast(pl.String),
        pl.col("matings").cast(pl.Int64),
        pl.col("rated_matings").cast(pl.Float64),
        *(pl.coalesce(c, f"_c_{c}", f"_f_{c}").cast(pl.Float64).alias(c) for c in _HAZARD),
        pl.when(pl.col("p_step").is_not_null())
        .then(pl.lit("curve"))
        .when(pl.col("_c_p_step").is_not_null())
        .then(pl.lit("cohort"))
        .when(pl.col("_f_p_step").is_not_null())
        .then(pl.lit("fleet"))
        .alias("hazard_from"),
    ).unique(subset=["link", "point"], keep="first", maintain_order=True)


def link_worst_wear(hazard: pl.DataFrame) -> pl.DataFrame:
    """Per link, its most worn point (highest matings / rated cycles; ties: highest hazard) from
    :func:`point_hazard`: ``wear_point``, ``wear_matings``, ``wear_rated_matings``, ``wear_p_step``
    [``wear_p_step_lo``, ``wear_p_step_hi``]."""
    x = pl.when(pl.col("rated_matings") > 0).then(pl.col("matings") / pl.col("rated_matings"))
    return (
        hazard.sort(x, "p_step", descending=[True, True], nulls_last=True)
        .group_by("link", maintain_order=True)
        .first()
        .select(
            "link",
            pl.col("point").alias("wear_point"),
            pl.col("matings").alias("wear_matings"),
            pl.col("rated_matings").alias("wear_rated_matings"),
            *(pl.col(c).alias(f"wear_{c}") for c in _HAZARD),
        )
    )
