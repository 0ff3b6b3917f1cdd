"""Fleet cohorts per connector family x termination, and empirical-Bayes shrinkage toward them.

Per cohort, from the whole fleet:
- P(step per mating): of the recorded matings (mated / terminated / replaced) observed with enough
  history around them, the fraction followed by an attributed loss step of at least the detector's
  ``min_db``; Beta posterior with a 95 % interval. The prior is the connector catalog's figure for
  the cohort's termination (``linkmargin/data/connectors.yaml`` ``mating_priors``) worth
  ``PRIOR_MATINGS`` matings, so a fleet's own matings outweigh it within tens of matings; the
  ``matings`` column says how many the figure rests on.
- step size (dB of added loss): the catalog's step size worth ``PRIOR_STEPS`` steps, updated by the
  attributed steps (bootstrap 95 % interval once there are two), and the sd (prior: half the size).
- drift (dB/day): random-effects mean over the cohort's lanes (DerSimonian-Laird between-lane
  variance tau²) with its interval.
- thermal sensitivity (dB/°C): random-effects mean over lanes, like drift.

A lane's drift is then shrunk toward its cohort by its own precision: a lane with days of history
keeps its own estimate, a fresh one inherits the cohort's (and its spread).
"""

from __future__ import annotations

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


def _boot_mean(x: np.ndarray, rng: np.random.Generator, stat: str = "mean") -> tuple[float, float, float]:
    if x.size == 0:
        return np.nan, np.nan, np.nan
    f = np.mean if stat == "mean" else np.median
    if x.size == 1:
        return float(x[0]), np.nan, np.nan
    boots = f(rng.choice(x, size=(2000, x.size), replace=True), axis=1)
    return float(f(x)), float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))


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


def fit_cohorts(
    spec: LinkSpec,
    outcomes: pl.DataFrame,
    lane_drift: np.ndarray,
    lane_drift_se: np.ndarray,
    lane_thermal: np.ndarray,
    lane_thermal_se: np.ndarray,
    *,
    unexplained: pl.DataFrame | None = None,
    link_days: pl.DataFrame | None = None,
) -> CohortModel:
    """Estimate every cohort's parameters from mating outcomes and per-lane fits (spec lane order).

    ``unexplained`` (link, step_ts, loss_db: steps no event explains) over ``link_days`` (link, days
    of history) gives each cohort a background rate of unexplained loss steps per link-day
    (Gamma(0.5 + k, exposure + PRIOR_LINK_DAYS) posterior mean), which forecasts add as Poisson
    step risk.
    """
    rng = np.random.default_rng(_RNG_SEED)
    link_cohort = spec.link_cohort()
    lanes = spec.lanes.select("link").with_row_index("li").join(link_cohort, on="link", how="left")
    lanes = lanes.with_columns(
        pl.col("family").fill_null("unknown"), pl.col("termination").fill_null("unknown")
    )
    keys = (
        pl.concat(
            [lanes.select("family", "termination"), outcomes.select("family", "termination")], how="vertical"
        )
        .unique()
        .sort("family", "termination")
    )
    if unexplained is not None and link_days is not None:
        # one event per link and hour, however many lanes saw it
        ue = (
            unexplained.filter(pl.col("loss_db") > 0)
            .group_by("link", "step_ts")
            .agg(pl.col("loss_db").median())
            .join(link_cohort, on="link", how="left")
        )
        ld = link_days.join(link_cohort, on="link", how="left")
    else:
        ue = pl.DataFrame(
            schema={"link": pl.String, "loss_db": pl.Float64, "family": pl.String, "termination": pl.String}
        )
        ld = pl.DataFrame(
            schema={"link": pl.String, "days": pl.Float64, "family": pl.String, "termination": pl.String}
        )
    rows = []
    for fam, term in [*keys.iter_rows(), ("*", "*")]:
        if fam == "*":
            o, li = outcomes, lanes["li"].to_numpy()
        else:
            o = outcomes.filter((pl.col("family") == fam) & (pl.col("termination") == term))
            li = lanes.filter((pl.col("family") == fam) & (pl.col("termination") == term))["li"].to_numpy()
        n, k = o.height, int(o["stepped"].sum()) if o.height else 0
        p0, s0 = _prior(term)
        a, b = PRIOR_MATINGS * p0 + k, PRIOR_MATINGS * (1 - p0) + n - k
        p_lo, p_hi = _beta_interval(a, b, rng)
        sizes = o.filter(pl.col("stepped"))["loss_db"].to_numpy()
        _, s_lo, s_hi = _boot_mean(sizes, rng)
        s_mean = (PRIOR_STEPS * s0 + sizes.sum()) / (PRIOR_STEPS + sizes.size)
        # pooled with the prior's spread (half the prior size) worth PRIOR_STEPS - 1 degrees of freedom
        ss = float(((sizes - sizes.mean()) ** 2).sum()) if sizes.size > 1 else 0.0
        s_sd = float(
            np.sqrt(((PRIOR_STEPS - 1) * (0.5 * s0) ** 2 + ss) / (PRIOR_STEPS - 1 + max(sizes.size - 1, 0)))
        )
        mu, mu_se, tau2 = random_effects(lane_drift[li], lane_drift_se[li])
        th_mu, th_se, _ = random_effects(lane_thermal[li], lane_thermal_se[li])
        th_med, th_lo, th_hi = th_mu, th_mu - _Z * th_se, th_mu + _Z * th_se
        if fam == "*":
            u, exposure = ue, float(ld["days"].sum() or 0.0)
        else:
            sel = (pl.col("family") == fam) & (pl.col("termination") == term)
            u, exposure = ue.filter(sel), float(ld.filter(sel)["days"].sum() or 0.0)
        u_sizes = u["loss_db"].to_numpy()
        rows.append(
            {
                "family": fam,
                "termination": term,
                "matings": n,
                "prior_matings": PRIOR_MATINGS,
                "steps": k,
                "unexplained_steps": u.height,
                "unexplained_per_day": (0.5 + u.height) / (exposure + PRIOR_LINK_DAYS),
                "unexplained_step_db": float(u_sizes.mean()) if u_sizes.size else np.nan,
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
                "thermal_db_per_c": th_med,
                "thermal_lo": th_lo,
                "thermal_hi": th_hi,
                "lanes": int(li.size),
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
    return CohortModel(table, link_cohort, spec.points)


def shrink_drift(
    drift: np.ndarray,
    drift_se: np.ndarray,
    prior_mean: np.ndarray,
    prior_tau: np.ndarray,
    prior_se: np.ndarray,
    *,
    min_prior_sd: float = 0.002,
    unknown_prior_sd: float = 0.01,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior drift and its sd per lane: precision-weighted between the lane's fit and its cohort.

    A lane without a fit gets the cohort prior predictive (mean, sqrt(tau² + se_mean²)), at least
    ``unknown_prior_sd``; the prior sd never goes below ``min_prior_sd`` dB/day (both are modelling
    assumptions: a cohort of identical lanes still does not make a new lane drift-free).
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
    return mean, np.sqrt(1 / prec)
