"""The published figures of an optic the lab simulates with, read from the core catalog.

The lab takes only spec numbers from ``linkmargin.catalog`` (lane count, line rate, FEC code, the
Tx average-power window, extinction ratio, Rx sensitivity, reach per fiber, fiber attenuation):
what a datasheet or the standard says. How a module behaves inside that window (draws, drift,
noise, the receiver's BER curve) is the lab's own and lives beside this file.

A catalog optic the lab cannot simulate (a figure it needs is unknown, or more lanes than the
lab models) raises :class:`LabOpticError` with one line naming the optic and what is missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Final

from linkmargin import catalog

MAX_LANES: Final = 8
"""Most optical lanes one module has in the lab (the last axis of every per-lane array)."""


class LabOpticError(ValueError):
    """An optic the lab cannot simulate; the message is one line naming it and why."""


@dataclass(frozen=True)
class FecParams:
    """An RS-FEC code as the lab's receiver needs it: n symbols, t correctable, pre-FEC BER limit."""

    name: str
    n_symbols: int
    t_symbols: int
    ber_limit: float


@dataclass(frozen=True)
class LabOptic:
    """One PMD's spec figures, per lane, in dBm / dB / Gb/s."""

    name: str
    lanes: int
    lane_gbps: float  # line rate per lane after FEC encoding (bits on the wire)
    port_gbps: float  # nominal port rate (what interface octet counters run at)
    fec: FecParams
    tx_avg_min_dbm: float
    tx_avg_max_dbm: float
    er_db: float  # extinction ratio the lab's modules launch at (the spec minimum)
    rx_sens_oma_dbm: float
    fiber: str  # the fiber a generated fabric lays for it unless the scenario names one
    wavelength_nm: int

    def fiber_atten_db_per_km(self, fiber: str) -> float:
        """Cabled attenuation of ``fiber`` at this optic's wavelength (catalog figure)."""
        try:
            return catalog.fiber_attenuation_db_per_km(fiber, self.wavelength_nm)
        except (KeyError, ValueError) as e:
            raise LabOpticError(f"optic {self.name} on fiber {fiber}: {_one_line(e)}") from None


def _one_line(e: Exception) -> str:
    return str(e.args[0] if isinstance(e, KeyError) and e.args else e).splitlines()[0]


def _figure(o: catalog.OpticPMD, field: str) -> float:
    fig: catalog.Figure = getattr(o, field)
    if fig.value is None:
        raise LabOpticError(
            f"optic {o.name}: the lab cannot simulate it: the catalog gives no {field} figure"
            f" ({fig.note or fig.src})"
        )
    return float(fig.value)


@cache
def fec_params(name: str) -> FecParams:
    """The catalog's RS-FEC code ``name`` (KR4 or KP4) as the lab's receiver uses it."""
    code = catalog.fec(name)
    if code.ber_limit.value is None:
        raise LabOpticError(f"FEC {name}: the catalog gives no pre-FEC BER limit")
    return FecParams(name, code.n_symbols, code.t_symbols, float(code.ber_limit.value))


def lab_optic(name: str) -> LabOptic:
    """The figures of catalog optic ``name``; :class:`LabOpticError` if the lab cannot simulate it."""
    return _from_catalog(str(name))


@cache
def _from_catalog(name: str) -> LabOptic:
    try:
        o = catalog.optic(name)
    except KeyError as e:
        raise LabOpticError(_one_line(e)) from None
    return from_pmd(o)


def from_pmd(o: catalog.OpticPMD) -> LabOptic:
    """The lab's view of one catalog entry (uncached: for entries not in the shipped catalog)."""
    if o.lanes > MAX_LANES:
        raise LabOpticError(
            f"optic {o.name}: the lab cannot simulate it: {o.lanes} lanes, the lab models at most {MAX_LANES}"
        )
    reaches = {f: r.value for f, r in o.reach_m.items() if r.value is not None}
    if not reaches:
        raise LabOpticError(
            f"optic {o.name}: the lab cannot simulate it: the catalog gives no reach on any fiber"
        )
    # the fiber the optic reaches furthest on (first listed on a tie): what a designer would lay
    fiber = max(reaches, key=lambda f: reaches[f])
    lab = LabOptic(
        name=o.name,
        lanes=o.lanes,
        lane_gbps=o.lane_rate_gbps,
        port_gbps=float(o.nominal_rate_gbps),
        fec=fec_params(o.fec),
        tx_avg_min_dbm=_figure(o, "tx_avg_min_dbm"),
        tx_avg_max_dbm=_figure(o, "tx_avg_max_dbm"),
        er_db=_figure(o, "er_min_db"),
        rx_sens_oma_dbm=_figure(o, "rx_sens_oma_dbm"),
        fiber=fiber,
        wavelength_nm=o.wavelength_nm,
    )
    if lab.tx_avg_max_dbm - lab.tx_avg_min_dbm < 1.0:
        raise LabOpticError(
            f"optic {o.name}: the lab cannot simulate it: Tx window"
            f" {lab.tx_avg_min_dbm}..{lab.tx_avg_max_dbm} dBm is under the 1 dB the lab's launch draw needs"
        )
    lab.fiber_atten_db_per_km(fiber)  # the default fiber must have an attenuation figure here
    return lab


def er_correction_db(er_db: float) -> float:
    """OMA minus average power at an extinction ratio (the standard identity for NRZ/PAM4 outer levels)."""
    er = 10 ** (er_db / 10)
    return 10 * math.log10(2 * (er - 1) / (er + 1))
