"""Optic PMD and connector catalogs, loaded from the data files shipped in ``linkmargin/data``.

Every figure carries its value, its status ([V] seen in a source, [D] derived, [M] memory /
unverified) and its public source (docs/ARCHITECTURE.md "Data over code"). The catalogs are data, not code.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from linkmargin.units import oma_to_avg_dbm
from linkmargin.yamlread import load_text

__all__ = [
    "ConnectorType",
    "Fec",
    "Fiber",
    "FiberKind",
    "Figure",
    "OpticPMD",
    "all_connectors",
    "all_fibers",
    "all_optics",
    "connector",
    "fec",
    "fiber",
    "fiber_attenuation_db_per_km",
    "mating_prior",
    "resolve_connector",
]

FiberKind = Literal["MMF", "SMF"]
Status = Literal["V", "D", "M"]


class Figure(BaseModel):
    """One catalog number with its provenance; ``value`` is None where no figure is known."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    value: float | None
    status: Status
    src: str
    note: str | None = None


class Fec(BaseModel):
    """A Reed-Solomon FEC code and the pre-FEC BER limit the PMD is specified at."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    code: str
    n_symbols: int
    k_symbols: int
    symbol_bits: int
    t_symbols: int
    ber_limit: Figure

    @property
    def codeword_bits(self) -> int:
        """Bits per codeword on the line (n symbols x symbol width)."""
        return self.n_symbols * self.symbol_bits


class Fiber(BaseModel):
    """A fiber type: its kind and cabled attenuation per wavelength band (nm -> dB/km)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    kind: FiberKind
    attenuation_db_per_km: dict[int, Figure]


class OpticPMD(BaseModel):
    """One optical PMD: lanes, media, reach and loss limits per fiber type, Tx/Rx per lane, FEC."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    standard: str
    nominal_rate_gbps: int
    lanes: int
    fibers: int
    media_connector: str
    fiber_kind: FiberKind
    wavelength_nm: int
    wavelengths_nm: list[int] | None = None
    modulation: Literal["NRZ", "PAM4"]
    lane_rate_gbps: float = Field(description="bits per second per optical lane, after FEC, in Gb/s")
    baud_gbd: float
    fec: Literal["KR4", "KP4"]
    reach_m: dict[str, Figure]
    max_channel_il_db: dict[str, Figure]
    connection_allowance_db: Figure
    fiber_attenuation_db_per_km: Figure
    tx_avg_min_dbm: Figure
    tx_avg_max_dbm: Figure
    rx_sens_oma_dbm: Figure
    er_min_db: Figure
    damage_dbm: Figure

    @property
    def lane_rate_bps(self) -> float:
        """Line bit rate of one lane in bits per second."""
        return self.lane_rate_gbps * 1e9

    @property
    def port_rate_bps(self) -> float:
        """Line bit rate of all lanes together (what a port-level FEC counter covers)."""
        return self.lane_rate_bps * self.lanes

    @property
    def fec_code(self) -> Fec:
        """The FEC code this PMD runs."""
        return fec(self.fec)

    @property
    def rx_sens_avg_dbm(self) -> Figure:
        """Rx sensitivity as average power at the minimum extinction ratio (what DOM compares with)."""
        oma, er = self.rx_sens_oma_dbm, self.er_min_db
        if oma.value is None or er.value is None:
            return Figure(value=None, status="M", src="needs Rx sensitivity OMA and ER min")
        status: Status = "D" if oma.status != "M" and er.status != "M" else "M"
        avg = oma_to_avg_dbm(oma.value, er.value)
        return Figure(
            value=round(avg, 3),
            status=status,
            src=f"derived: OMA {oma.value} dBm [{oma.status}] at ER {er.value} dB [{er.status}] "
            'via docs/ARCHITECTURE.md "Optical conventions"',
        )

    def max_il_db(self, fiber_name: str) -> float | None:
        """Maximum channel insertion loss on this fiber type, or None if not catalogued."""
        f = self.max_channel_il_db.get(fiber_name)
        return None if f is None else f.value

    def reach_on(self, fiber_name: str) -> float | None:
        """Reach in metres on this fiber type, or None if the PMD is not specified on it."""
        f = self.reach_m.get(fiber_name)
        return None if f is None else f.value


class ConnectorType(BaseModel):
    """A connector or splice type: rated loss per mated pair, return loss, matings, gel."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    family: str
    grade: Literal["standard", "low-loss"] | None = None
    description: str | None = None
    fibers: int
    termination: Literal["factory", "field"]
    gel: bool
    il_typical_db: dict[FiberKind, Figure]
    il_max_db: dict[FiberKind, Figure]
    rl_min_db: Figure
    rated_matings: Figure

    @property
    def thermal_sensitive(self) -> bool:
        """Index gel changes with temperature, so gel points swing with the daily thermal cycle."""
        return self.gel

    @property
    def is_splice(self) -> bool:
        """Splices are not mated and unmated."""
        return self.family == "splice"

    def il_max(self, kind: FiberKind) -> float:
        """Rated maximum insertion loss on this fiber kind (dB)."""
        v = self.il_max_db[kind].value
        if v is None:  # every catalog entry has a max; enforced by the catalog test
            raise ValueError(f"{self.id}: no max insertion loss for {kind}")
        return v

    def il_typical(self, kind: FiberKind) -> float:
        """Typical insertion loss; the max where no typical is known (conservative)."""
        v = self.il_typical_db[kind].value
        return self.il_max(kind) if v is None else v


def _load(name: str) -> Any:
    text = resources.files("linkmargin.data").joinpath(name).read_text(encoding="utf-8")
    return load_text(text)


@cache
def _optics_doc() -> tuple[dict[str, OpticPMD], dict[str, Fec], dict[str, Fiber]]:
    doc = _load("optics.yaml")
    fecs = {k: Fec(name=k, **v) for k, v in doc["fec"].items()}
    fibers = {k: Fiber(name=k, **v) for k, v in doc["fibers"].items()}
    optics = {o["name"]: OpticPMD(**o) for o in doc["optics"]}
    return optics, fecs, fibers


class MatingPrior(BaseModel):
    """Prior figures for one mating of a termination kind: P(visible loss step) and the step's size."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    p_step: Figure
    step_db: Figure


@cache
def _mating_priors() -> dict[str, MatingPrior]:
    return {k: MatingPrior(**v) for k, v in _load("connectors.yaml")["mating_priors"].items()}


def mating_prior(termination: str) -> MatingPrior:
    """The prior for a termination (``factory``/``field``); an unknown one gets the field figures."""
    priors = _mating_priors()
    return priors.get(termination, priors["field"])


@cache
def _connectors() -> dict[str, ConnectorType]:
    doc = _load("connectors.yaml")
    return {c["id"]: ConnectorType(**c) for c in doc["connectors"]}


def all_optics() -> dict[str, OpticPMD]:
    """Every catalogued PMD by name."""
    return dict(_optics_doc()[0])


def all_connectors() -> dict[str, ConnectorType]:
    """Every catalogued connector or splice type by id."""
    return dict(_connectors())


def all_fibers() -> dict[str, Fiber]:
    """Every catalogued fiber type by name."""
    return dict(_optics_doc()[2])


def optic(name: str) -> OpticPMD:
    """The PMD called ``name``; KeyError naming the known ones otherwise."""
    optics = _optics_doc()[0]
    if name not in optics:
        raise KeyError(f"unknown optic {name!r}; known: {', '.join(sorted(optics))}")
    return optics[name]


def connector(name: str) -> ConnectorType:
    """The connector type with id ``name``; KeyError naming the known ones otherwise."""
    conns = _connectors()
    if name not in conns:
        raise KeyError(f"unknown connector {name!r}; known: {', '.join(sorted(conns))}")
    return conns[name]


def resolve_connector(type_: str, grade: str | None) -> ConnectorType:
    """Catalog entry for an inventory's (type, grade): MPO-12 + low-loss -> MPO-12-LL.

    Raises KeyError for an unknown type and ValueError for a grade the type is not catalogued in.
    """
    base = connector(type_)
    if grade is None or grade == base.grade:
        return base
    if grade == "low-loss" and f"{type_}-LL" in _connectors():
        return _connectors()[f"{type_}-LL"]
    raise ValueError(f"{type_} is catalogued as grade {base.grade or 'none'}, not {grade!r}")


def fec(name: str) -> Fec:
    """The FEC code called ``name`` (KR4 or KP4)."""
    return _optics_doc()[1][name]


def fiber(name: str) -> Fiber:
    """The fiber type called ``name``; KeyError naming the known ones otherwise."""
    fibers = _optics_doc()[2]
    if name not in fibers:
        raise KeyError(f"unknown fiber type {name!r}; known: {', '.join(sorted(fibers))}")
    return fibers[name]


def fiber_attenuation_db_per_km(fiber_name: str, wavelength_nm: float) -> float:
    """Cabled attenuation of ``fiber_name`` at the catalogued band nearest to ``wavelength_nm``."""
    f = fiber(fiber_name)
    band = min(f.attenuation_db_per_km, key=lambda b: abs(b - wavelength_nm))
    if abs(band - wavelength_nm) > 150:
        raise ValueError(f"{fiber_name}: no attenuation figure near {wavelength_nm} nm")
    v = f.attenuation_db_per_km[band].value
    if v is None:
        raise ValueError(f"{fiber_name}: attenuation at {band} nm unknown")
    return v
