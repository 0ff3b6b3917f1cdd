"""Risk-state changes of links as bus Events, with hysteresis so a link never flaps.

States ok < warning < critical. A link enters a state when its risk probability reaches the
state's ``enter`` level (or its margin is already below zero: critical) and leaves it only when
the probability falls below the lower ``leave`` level. Only changes produce events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import polars as pl

from linkmargin.wire import Event

LEVELS: Final = ("ok", "warning", "critical")


@dataclass(frozen=True, slots=True)
class Hysteresis:
    """Enter/leave probability levels for warning and critical."""

    warn_enter: float = 0.2
    warn_leave: float = 0.1
    crit_enter: float = 0.5
    crit_leave: float = 0.35


class RiskTracker:
    """Remembers each link's state; :meth:`update` returns the events of the links that changed."""

    def __init__(self, horizon: str, hysteresis: Hysteresis | None = None) -> None:
        self.horizon = horizon
        self.h = hysteresis or Hysteresis()
        self.state: dict[str, str] = {}

    def _next(self, cur: str, p: float, margin: float | None) -> str:
        h = self.h
        if margin is not None and margin < 0:
            return "critical"
        if cur == "critical":
            return "critical" if p >= h.crit_leave else ("warning" if p >= h.warn_leave else "ok")
        if p >= h.crit_enter:
            return "critical"
        if cur == "warning":
            return "warning" if p >= h.warn_leave else "ok"
        return "warning" if p >= h.warn_enter else "ok"

    def update(
        self,
        forecast: pl.DataFrame,
        *,
        links: pl.DataFrame | None = None,
        advice: pl.DataFrame | None = None,
        at: datetime | None = None,
    ) -> list[Event]:
        """Feed one forecast frame (per link: link, p_cross, forecast_db ...); return change events."""
        at = at or datetime.now(UTC)
        margin = {} if links is None else dict(zip(links["link"], links["link_margin_db"], strict=True))
        adv = {} if advice is None else {r["link"]: r for r in advice.iter_rows(named=True)}
        events = []
        for row in forecast.iter_rows(named=True):
            link, p = row["link"], row["p_cross"]
            if p is None or p != p:  # no data: keep the state
                continue
            cur = self.state.get(link, "ok")
            new = self._next(cur, p, margin.get(link))
            if new == cur:
                continue
            self.state[link] = new
            a = adv.get(link, {})
            severity = new if new != "ok" else "info"
            events.append(
                Event(
                    kind="risk_state",
                    severity=severity,
                    subject=link,
                    summary=f"{link}: {cur} -> {new}, P(cross before {self.horizon}) = {p:.2f}"
                    + (f"; {a['action']}" if a else ""),
                    at=at,
                    data={
                        "from": cur,
                        "to": new,
                        "horizon": self.horizon,
                        "p_cross": p,
                        "forecast_db": row.get("forecast_db"),
                        "days_to_cross": row.get("days_to_cross"),
                        "point": a.get("point"),
                        "cause": a.get("cause"),
                        "action": a.get("action"),
                        "evidence": a.get("evidence"),
                    },
                )
            )
        return events
