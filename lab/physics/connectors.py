"""Connector behaviour by family x termination: the data the contamination and gel models draw from.

Stance (docs/ARCHITECTURE.md "Optical conventions", "Connectors"): a per-mating change is a mixture,
usually ~0, sometimes a 0.5-4 dB step (atlasofengineering.com case study: 3.8 dB dirty, 1.1 dB
handling); no linear per-cycle drift. Rated/typical IL: low-loss MPO/MTP <=0.35 dB max
(fibermtp.com), typical 0.1-0.2 (estimate); standard MPO <=0.60 dB MM (fibermtp.com); LC 0.3-0.5
(vendor blog, weak); fusion <0.1 (estimate); mechanical splice ~0.3 (estimate); MMC has no
published figure, so it borrows the FOA's ~0.3 dB per field connector (thefoa.org loss budget).
Probabilities and gel coefficients are lab assumptions (no source), chosen so field MMC is visibly
worse than factory MTP, as the issue asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class ConnectorBehaviour:
    """How one connector family x termination behaves in the lab."""

    il_mean_db: float  # typical installed insertion loss
    il_sd_db: float
    rated_il_db: float  # what the inventory records as rated IL
    p_dirty: float  # probability a mating picks up contamination
    step_median_db: float  # contamination step size (lognormal, clipped to 0.5..4 dB)
    p_clean_residual: float  # fraction of contamination a cleaning leaves behind (mean)
    gel: bool  # index-matching gel: drifts with thermal cycles and swings with temperature
    gel_db_per_cycle: float = 0.0
    gel_db_per_c: float = 0.0


BEHAVIOUR: Final[dict[tuple[str, str], ConnectorBehaviour]] = {
    ("MTP", "factory"): ConnectorBehaviour(0.15, 0.04, 0.35, 0.03, 1.0, 0.05, False),
    ("MPO", "factory"): ConnectorBehaviour(0.30, 0.08, 0.60, 0.05, 1.2, 0.05, False),
    ("MPO", "field"): ConnectorBehaviour(0.40, 0.10, 0.75, 0.10, 1.5, 0.10, False),
    ("LC", "factory"): ConnectorBehaviour(0.25, 0.06, 0.50, 0.04, 1.0, 0.05, False),
    ("LC", "field"): ConnectorBehaviour(0.35, 0.08, 0.75, 0.08, 1.2, 0.10, False),
    ("MMC", "factory"): ConnectorBehaviour(0.25, 0.06, 0.50, 0.06, 1.2, 0.08, True, 0.001, 0.002),
    ("MMC", "field"): ConnectorBehaviour(0.35, 0.10, 0.75, 0.15, 1.8, 0.15, True, 0.004, 0.006),
    ("mechanical-splice", "field"): ConnectorBehaviour(0.30, 0.08, 0.30, 0.0, 1.0, 0.0, True, 0.003, 0.005),
    ("fusion-splice", "field"): ConnectorBehaviour(0.05, 0.02, 0.10, 0.0, 1.0, 0.0, False),
}


# Core-catalog ids (linkmargin/data/connectors.yaml) -> the lab's behaviour family.
FAMILY_ALIASES = {
    "LC-UPC": "LC",
    "LC-APC": "LC",
    "SN": "LC",  # factory-polished duplex VSFF: behaves like a factory LC
    "MDC": "LC",
    "MMC-TMT": "MPO",  # factory-polished VSFF multi-fiber (not the field MMC)
    "MECH-SPLICE": "mechanical-splice",
    "FUSION": "fusion-splice",
}


def family_of(connector_type: str) -> str:
    """Connector family from an inventory type string ("MTP-16" -> "MTP", "MPO-12-LL" -> "MPO")."""
    if connector_type.startswith(("MTP", "MPO")):
        return connector_type.split("-")[0]
    return FAMILY_ALIASES.get(connector_type, connector_type)


def behaviour(connector_type: str, termination: str) -> ConnectorBehaviour:
    """Look up the behaviour of a connector type and termination (KeyError names the pair)."""
    key = (family_of(connector_type), termination)
    if key not in BEHAVIOUR:
        raise KeyError(f"no lab behaviour for connector {connector_type!r} terminated {termination!r}")
    return BEHAVIOUR[key]
