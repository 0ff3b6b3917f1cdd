"""Fleet cohorts per connector family x termination, and empirical-Bayes shrinkage toward them.

Per cohort, from the whole fleet:
- P(step per mating): of the recorded matings (mated / terminated / replaced) observed with enough
  history around them, the fraction followed by an attributed loss step of at least the detector's
  ``min_db``; Beta posterior with a 95 % interval. The prior is the connector catalog's figure for
  the cohort's termination (``linkmargin/data/connectors.yaml`` ``mating_priors``) worth
  ``PRIOR_MATINGS`` matings, so a fleet's own matings outweigh it within tens of matings; the
  ``matings`` column says how many the figure rests on.
- step size (dB of added loss): the catalog's step size worth ``PRIOR_STEPS`` steps, updated by the
  attributed steps (normal 95 % interval of their mean from the sums once there are two), and the
  sd (prior: half the size).
- drift (dB/day): random-effects mean over the cohort's lanes (DerSimonian-Laird between-lane
  variance tau²) with its interval, each lane's se rounded to 1/16 octave.
- thermal sensitivity (dB/°C): random-effects mean over lanes, like drift.

Every figure is estimated from counts and sums (:func:`cohort_stats`, then :func:`estimate_cohorts`)
that add up across analyzer shards (:mod:`analyzer.fleetstats`), so sharded analyzers estimate the
fleet's cohorts as one would.

A lane's drift is then shrunk toward its cohort by its own precision: a lane with days of history
keeps its own estimate, a fresh one inherits the cohort's (and its spread).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import polars as pl

from analyzer.spec import LinkSpec
from linkmargin.catalog import mating_prior
from linkmargin.inventory.matings import MATING_KINDS

_Z = 1.959963984540054
_RNG_SEED = 20260101
PRIOR_LINK_DAYS = 365.0
"""Prior exposure of the unexplained-step rate: half a step per link-year until the fleet says
otherwise (a modelling assumption, not a measured figure)."""
PRIOR_MATINGS = 4.0
"""Weight of the catalog's P(step per mating) in matings: after 40 of its own, a cohort's estimate is
at least 90 % its data (a modelling choice: weak enough to be overruled, strong enough that one mating
does not swing a fresh cohort to 0 or 1)."""
PRIOR_STEPS = 2.0
"""Weight of the catalog's step size, in steps."""


def _prior(termination: str) -> tuple[float, float]:
    """The catalog's P(step per mating) and step size for a termination (``*``: the weaker, field)."""
    pr = mating_prior("field" if termination == "*" else termination)
    return float(pr.p_step.value or 0.0), float(pr.step_db.value or 0.0)


@dataclass(frozen=True, slots=True)
class CohortModel:
    """Cohort table (one row per family x termination) and the link -> cohort map."""

    table: pl.DataFrame
    link_cohort: pl.DataFrame
    points: pl.DataFrame  # the spec's connection points (link, point, position, family, termination)

    def lookup(self, links: pl.Series) -> pl.DataFrame:
        """Cohort parameters for each link in ``links`` (fleet-wide defaults where unknown)."""
        frame = pl.DataFrame({"link": links}).join(self.link_cohort, on="link", how="left")
        out = frame.join(self.table, on=["family", "termination"], how="left")
        fleet = self.table.filter(pl.col("family") == "*")
        if fleet.height:
            fills = {
                c: pl.col(c).fill_null(fleet[c][0])
                for c in fleet.columns
                if c not in ("family", "termination")
            }
            out = out.with_columns(**fills)
        return out


def mating_outcomes(
    spec: LinkSpec, attributed: pl.DataFrame, hours: np.ndarray, *, guard_h: int = 12
) -> pl.DataFrame:
    """One row per observable mating event: point, cohort, whether a loss step followed, its size,
    and the point's mating count before it with its type's rated cycles (for :mod:`analyzer.wear`).

    A mating counts only if ``guard_h`` hours of history lie on both sides of it (else a step could
    not have been seen). The step size of an event is the median over the link's lanes.
    """
    if hours.size == 0:
        return pl.DataFrame(
            schema={
                "point": pl.String,
                "family": pl.String,
                "termination": pl.String,
                "stepped": pl.Boolean,
                "loss_db": pl.Float64,
                "matings_at": pl.Int64,
                "rated_matings": pl.Float64,
            }
        )
    lo, hi = (int(hours[0]) + guard_h) * 3600, (int(hours[-1]) - guard_h) * 3600
    ev = (
        spec.events.filter(pl.col("kind").is_in(list(MATING_KINDS)))
        .filter(pl.col("ts").dt.epoch("s").is_between(lo, hi))
        .join(spec.points, on="point")
        .select(
            "link",
            "point",
            "family",
            "termination",
            pl.col("ts").alias("event_ts"),
            # the count the point had reached before this mating (a replacement starts a new part at 0)
            (pl.col("matings").cast(pl.Int64) - 1).clip(0).alias("matings_at"),
            "rated_matings",
        )
    )
    st = (
        attributed.filter(pl.col("explained") & pl.col("event_kind").is_in(list(MATING_KINDS)))
        .filter(pl.col("loss_db") > 0)
        .group_by("point", "event_ts")
        .agg(pl.col("loss_db").median())
    )
    return ev.join(st, on=["point", "event_ts"], how="left").with_columns(
        pl.col("loss_db").is_not_null().alias("stepped")
    )


def _beta_interval(a: float, b: float, rng: np.random.Generator) -> tuple[float, float]:
    draws = rng.beta(a, b, 20_000)
    return float(np.quantile(draws, 0.025)), float(np.quantile(draws, 0.975))


def random_effects(d: np.ndarray, se: np.ndarray) -> tuple[float, float, float]:
    """DerSimonian-Laird pooled mean, its standard error, and the between-unit variance tau²."""
    ok = np.isfinite(d) & np.isfinite(se) & (se > 0)
    d, se = d[ok], se[ok]
    if d.size == 0:
        return np.nan, np.nan, np.nan
    w = 1 / se**2
    mu_fe = (w * d).sum() / w.sum()
    q = (w * (d - mu_fe) ** 2).sum()
    c = w.sum() - (w**2).sum() / w.sum()
    tau2 = max(0.0, (q - (d.size - 1)) / c) if c > 0 else 0.0
    ws = 1 / (se**2 + tau2)
    mu = (ws * d).sum() / ws.sum()
    return float(mu), float(np.sqrt(1 / ws.sum())), float(tau2)


SE_BINS_PER_OCTAVE = 16
"""A lane's drift (thermal) standard error enters the random-effects pool rounded to 1/16 octave
(+-2.2 %: far finer than the se's own sampling error), so a cohort's lanes reduce to counts and sums
per se bin: statistics that add up across analyzer shards."""
COHORT_KEYS = ("family", "termination")


def _binned(part: str, keys: pl.DataFrame, d: np.ndarray, se: np.ndarray) -> pl.DataFrame:
    ok = np.isfinite(d) & np.isfinite(se) & (se > 0)
    b = np.zeros(d.size, dtype=np.int32)
    b[ok] = np.round(np.log2(se[ok]) * SE_BINS_PER_OCTAVE).astype(np.int32)
    return (
        keys.with_columns(pl.Series("bin", b), pl.Series("d", np.where(ok, d, 0.0)))
        .filter(pl.Series(ok))
        .group_by(*COHORT_KEYS, "bin")
        .agg(
            pl.len().cast(pl.Float64).alias("n"),
            pl.col("d").sum().alias("s1"),
            (pl.col("d") ** 2).sum().alias("s2"),
        )
        .with_columns(pl.lit(part).alias("part"))
    )


def cohort_stats(
    spec: LinkSpec,
    outcomes: pl.DataFrame,
    lane_drift: np.ndarray,
    lane_drift_se: np.ndarray,
    lane_thermal: np.ndarray,
    lane_thermal_se: np.ndarray,
    *,
    unexplained: pl.DataFrame | None = None,
    link_days: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The cohorts' mergeable sufficient statistics: one row per (family, termination, part, bin).

    Float columns ``n``, ``s1``, ``s2`` are counts and sums that add up across disjoint sets of links
    (analyzer shards): ``lanes`` (n lanes), ``matings`` (n observed matings, s1 followed by a step),
    ``steps`` (n step sizes, s1 their sum, s2 their sum of squares), ``unexplained`` (n steps, s1
    sum of sizes), ``exposure`` (n links, s1 link-days), ``drift`` and ``thermal`` (per se bin: n
    lanes, s1 sum, s2 sum of squares of their estimates). Every other column is a key.
    """
    link_cohort = spec.link_cohort()
    unknown = (pl.col("family").fill_null("unknown"), pl.col("termination").fill_null("unknown"))
    lanes = spec.lanes.select("link").join(link_cohort, on="link", how="left").with_columns(*unknown)
    keys = lanes.select(*COHORT_KEYS)
    cnt = pl.len().cast(pl.Float64).alias("n")
    zero = pl.lit(0.0).alias("s2")
    o = outcomes.with_columns(*unknown)
    parts = [
        keys.group_by(*COHORT_KEYS)
        .agg(cnt, pl.lit(0.0).alias("s1"), zero)
        .with_columns(part=pl.lit("lanes")),
        o.group_by(*COHORT_KEYS)
        .agg(cnt, pl.col("stepped").cast(pl.Float64).sum().alias("s1"), zero)
        .with_columns(part=pl.lit("matings")),
        o.filter(pl.col("stepped"))
        .group_by(*COHORT_KEYS)
        .agg(cnt, pl.col("loss_db").sum().alias("s1"), (pl.col("loss_db") ** 2).sum().alias("s2"))
        .with_columns(part=pl.lit("steps")),
        _binned("drift", keys, np.asarray(lane_drift, float), np.asarray(lane_drift_se, float)),
        _binned("thermal", keys, np.asarray(lane_thermal, float), np.asarray(lane_thermal_se, float)),
    ]
    if unexplained is not None and link_days is not None:
        # one event per link and hour, however many lanes saw it
        ue = (
            unexplained.filter(pl.col("loss_db") > 0)
            .group_by("link", "step_ts")
            .agg(pl.col("loss_db").median())
            .join(link_cohort, on="link", how="left")
            .with_columns(*unknown)
        )
        ld = link_days.join(link_cohort, on="link", how="left").with_columns(*unknown)
        parts += [
            ue.group_by(*COHORT_KEYS)
            .agg(cnt, pl.col("loss_db").sum().alias("s1"), (pl.col("loss_db") ** 2).sum().alias("s2"))
            .with_columns(part=pl.lit("unexplained")),
            ld.group_by(*COHORT_KEYS)
            .agg(cnt, pl.col("days").cast(pl.Float64).sum().alias("s1"), zero)
            .with_columns(part=pl.lit("exposure")),
        ]
    cols = [*COHORT_KEYS, "part", "bin", "n", "s1", "s2"]
    return pl.concat(
        [
            p.with_columns(
                pl.col("bin").cast(pl.Int32) if "bin" in p.columns else pl.lit(0, pl.Int32).alias("bin")
            ).select(cols)
            for p in parts
        ],
        how="vertical_relaxed",
    ).sort(*COHORT_KEYS, "part", "bin")


def _pooled(rows: pl.DataFrame) -> tuple[float, float, float]:
    """DerSimonian-Laird (pooled mean, its se, tau²) from per-se-bin counts and sums."""
    if rows.height == 0 or rows["n"].sum() == 0:
        return np.nan, np.nan, np.nan
    n, s1, s2 = (rows[c].to_numpy() for c in ("n", "s1", "s2"))
    se2 = np.exp2(2.0 * rows["bin"].to_numpy() / SE_BINS_PER_OCTAVE)
    w = 1 / se2
    sw, sw2, swd, swd2 = (n * w).sum(), (n * w * w).sum(), (w * s1).sum(), (w * s2).sum()
    q = max(swd2 - swd * swd / sw, 0.0)
    c = sw - sw2 / sw
    tau2 = max(0.0, (q - (n.sum() - 1)) / c) if c > 0 else 0.0
    ws = 1 / (se2 + tau2)
    return float((ws * s1).sum() / (n * ws).sum()), float(np.sqrt(1 / (n * ws).sum())), float(tau2)


def _rng_for(key: tuple[object, ...]) -> np.random.Generator:
    """A generator seeded by the cohort key: the same draws whatever the order or shard count."""
    return np.random.default_rng([_RNG_SEED, zlib.crc32("\x00".join(map(str, key)).encode())])


def estimate_cohorts(stats: pl.DataFrame, spec: LinkSpec) -> CohortModel:
    """Every cohort's parameters (and the fleet's, ``*``) from :func:`cohort_stats` (merged or not)."""
    fleet_stats = (
        stats.group_by("part", "bin")
        .agg(pl.col("n", "s1", "s2").sum())
        .with_columns(family=pl.lit("*"), termination=pl.lit("*"))
    )
    keys = stats.select(*COHORT_KEYS).unique().sort(*COHORT_KEYS)
    rows = []
    for fam, term in [*keys.iter_rows(), ("*", "*")]:
        src = fleet_stats if fam == "*" else stats
        sel = src.filter((pl.col("family") == fam) & (pl.col("termination") == term))

        def part(name: str, sel: pl.DataFrame = sel) -> pl.DataFrame:
            return sel.filter(pl.col("part") == name)

        def tot(name: str, col: str) -> float:
            return float(part(name)[col].sum())

        rng = _rng_for((fam, term))
        n, k = int(tot("matings", "n")), int(tot("matings", "s1"))
        p0, s0 = _prior(term)
        a, b = PRIOR_MATINGS * p0 + k, PRIOR_MATINGS * (1 - p0) + n - k
        p_lo, p_hi = _beta_interval(a, b, rng)
        m, s_sum, s_sq = tot("steps", "n"), tot("steps", "s1"), tot("steps", "s2")
        s_mean = (PRIOR_STEPS * s0 + s_sum) / (PRIOR_STEPS + m)
        # pooled with the prior's spread (half the prior size) worth PRIOR_STEPS - 1 degrees of freedom
        ss = max(s_sq - s_sum * s_sum / m, 0.0) if m > 1 else 0.0
        s_sd = float(np.sqrt(((PRIOR_STEPS - 1) * (0.5 * s0) ** 2 + ss) / (PRIOR_STEPS - 1 + max(m - 1, 0))))
        # the mean step's 95 % interval (normal, from the sums; none from fewer than two steps)
        half = _Z * np.sqrt(ss / (m - 1) / m) if m > 1 else np.nan
        s_lo, s_hi = (s_sum / m - half, s_sum / m + half) if m > 1 else (np.nan, np.nan)
        mu, mu_se, tau2 = _pooled(part("drift"))
        th_mu, th_se, _ = _pooled(part("thermal"))
        u_n, u_sum, exposure = tot("unexplained", "n"), tot("unexplained", "s1"), tot("exposure", "s1")
        rows.append(
            {
                "family": fam,
                "termination": term,
                "matings": n,
                "prior_matings": PRIOR_MATINGS,
                "steps": k,
                "unexplained_steps": int(u_n),
                "unexplained_per_day": (0.5 + u_n) / (exposure + PRIOR_LINK_DAYS),
                "unexplained_step_db": u_sum / u_n if u_n else np.nan,
                "p_step": a / (a + b),
                "p_step_lo": p_lo,
                "p_step_hi": p_hi,
                "step_db": s_mean,
                "step_db_lo": s_lo,
                "step_db_hi": s_hi,
                "step_db_sd": s_sd,
                "drift_db_per_day": mu,
                "drift_lo": mu - _Z * mu_se,
                "drift_hi": mu + _Z * mu_se,
                "drift_tau": float(np.sqrt(tau2)) if np.isfinite(tau2) else np.nan,
                "thermal_db_per_c": th_mu,
                "thermal_lo": th_mu - _Z * th_se,
                "thermal_hi": th_mu + _Z * th_se,
                "lanes": int(tot("lanes", "n")),
            }
        )
    table = pl.DataFrame(rows, infer_schema_length=None)
    # a cohort too small to have a step size or drift inherits the fleet's
    fleet = table.filter(pl.col("family") == "*").row(0, named=True)
    table = table.with_columns(
        pl.col("step_db").fill_nan(fleet["step_db"]),
        pl.col("step_db_sd").fill_nan(fleet["step_db_sd"]),
        pl.col("drift_db_per_day").fill_nan(fleet["drift_db_per_day"]),
        pl.col("drift_tau").fill_nan(fleet["drift_tau"]),
        pl.col("unexplained_per_day").fill_nan(fleet["unexplained_per_day"]),
        pl.col("unexplained_step_db").fill_nan(fleet["unexplained_step_db"]).fill_nan(fleet["step_db"]),
    )
    return CohortModel(table, spec.link_cohort(), spec.points)


def shrink_drift(
    drift: np.ndarray,
    drift_se: np.ndarray,
    prior_mean: np.ndarray,
    prior_tau: np.ndarray,
    prior_se: np.ndarray,
    *,
    min_prior_sd: float = 0.002,
    unknown_prior_sd: float = 0.01,
    max_shift_se: float | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior drift and its sd per lane: precision-weighted between the lane's fit and its cohort.

    A lane without a fit gets the cohort prior predictive (mean, sqrt(tau² + se_mean²)), at least
    ``unknown_prior_sd``; the prior sd never goes below ``min_prior_sd`` dB/day (both are modelling
    assumptions: a cohort of identical lanes still does not make a new lane drift-free).

    With ``max_shift_se`` the shrinkage is *limited translation* (Efron and Morris, JASA 1972): the
    estimate moves at most that many of the lane's own standard errors toward the cohort, with the
    lane's own sd where the limit binds. A fleet's drifts are not Gaussian: most lanes are flat, a few
    degrade, and a Gaussian prior as narrow as the flat majority pulls a sharply measured decline
    (0.035 dB/day known to 0.003) to a third of itself. Per lane (an array), NaN: not limited.
    """
    tau2 = np.nan_to_num(prior_tau, nan=0.0) ** 2 + np.nan_to_num(prior_se, nan=0.0) ** 2
    tau2 = np.maximum(tau2, min_prior_sd**2)
    mu = np.nan_to_num(prior_mean, nan=0.0)
    have = np.isfinite(drift) & np.isfinite(drift_se) & (drift_se > 0)
    # without its own fit a lane is only as certain as a loosely known cohort
    tau2 = np.where(have, tau2, np.maximum(tau2, unknown_prior_sd**2))
    se2 = np.where(have, drift_se, 1.0) ** 2
    prec = np.where(have, 1 / se2, 0.0) + 1 / tau2
    mean = (np.where(have, drift / se2, 0.0) + mu / tau2) / prec
    sd = np.sqrt(1 / prec)
    if max_shift_se is not None:
        se = np.sqrt(se2)
        lo, hi = drift - max_shift_se * se, drift + max_shift_se * se
        bound = have & ((mean < lo) | (mean > hi))
        mean = np.where(bound, np.clip(mean, lo, hi), mean)
        sd = np.where(bound, se, sd)
    return mean, sd
