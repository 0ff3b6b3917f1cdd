"""PMD parameters the lab needs (a stop-gap until the core catalog `linkmargin/catalog.py` lands).

Every figure cites /work/shared/reference/optics-facts.md (section and its [V]/[D]/[M] tag).
Sensitivities are unstressed OMA per lane; where the reference has none for a PMD, the row says
which [M] figure was used. Switch to the core catalog after merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class PmdParams:
    """Per-lane optical parameters of one PMD, in dBm / dB / Gb/s."""

    name: str
    lanes: int
    lane_gbps: float  # line rate per lane after FEC encoding (bits on the wire)
    fec: str  # "KR4" or "KP4"
    tx_avg_min_dbm: float
    tx_avg_max_dbm: float
    er_db: float  # extinction ratio used for the average->OMA correction
    rx_sens_oma_dbm: float
    max_channel_il_db: float
    fiber: str  # default fiber type
    wavelength_nm: int
    source: str


# FEC code parameters: optics-facts.md 1c [V] (t=7 Intel AN 846; KP4 t=15) and BER limits
# (KR4 5e-5 [V] SWDM4 datasheet; KP4 2.4e-4 [V] several datasheets).
FEC_CODES: Final[dict[str, tuple[int, int, float]]] = {
    # name: (n symbols, t correctable symbols, pre-FEC BER limit)
    "KR4": (528, 7, 5e-5),
    "KP4": (544, 15, 2.4e-4),
}

# Fiber attenuation (dB/km): optics-facts.md 2 — MMF 3.5 @850 [V], OS2 0.4 [V] (tiafotc DR8).
FIBER_ATTEN_DB_PER_KM: Final[dict[str, float]] = {"OM3": 3.5, "OM4": 3.5, "OM5": 3.5, "OS2": 0.4}

PMDS: Final[dict[str, PmdParams]] = {
    p.name: p
    for p in [
        PmdParams(
            "100GBASE-SR4",
            4,
            25.78125,
            "KR4",
            -8.4,
            2.4,
            2.0,
            -9.2,
            1.9,
            "OM4",
            850,
            "optics-facts.md 1a/1b: Tx avg, ER [V] netronetworks; sens -9.2 OMA [M]; IL 1.9 OM4 [M]",
        ),
        PmdParams(
            "400GBASE-SR8",
            8,
            53.125,
            "KP4",
            -6.5,
            4.0,
            3.0,
            -6.5,
            1.9,
            "OM4",
            850,
            "optics-facts.md 1a: IL 1.9 OM4 [V] tiafotc; Tx/sens not in reference: [M] clause 138 figures",
        ),
        PmdParams(
            "400GBASE-DR4",
            4,
            106.25,
            "KP4",
            -2.9,
            4.0,
            3.5,
            -4.4,
            3.0,
            "OS2",
            1310,
            "optics-facts.md 1b: Tx avg -2.9..4.0, ER 3.5, sens -4.4 OMA [V] Edgecore ET7502-DR4; IL 3.0 [M]",
        ),
        PmdParams(
            "800GBASE-DR8",
            8,
            106.25,
            "KP4",
            -2.9,
            4.0,
            3.5,
            -4.4,
            3.0,
            "OS2",
            1310,
            "optics-facts.md 1a/1b: same lane optics as DR4 [V] Trixon DR8; IL 3.0 [V] tiafotc",
        ),
        PmdParams(
            "400GBASE-FR4",
            4,
            106.25,
            "KP4",
            -3.3,
            3.5,
            3.5,
            -4.6,
            4.0,
            "OS2",
            1310,
            "optics-facts.md 1b: Tx [V] Edgecore ET7502-FR4; sens -4.6 [M]; IL 4.0 [M]",
        ),
    ]
}


def er_correction_db(er_db: float) -> float:
    """OMA minus average power for an extinction ratio (optics-facts.md 5, [D] standard identity)."""
    import math

    er = 10 ** (er_db / 10)
    return 10 * math.log10(2 * (er - 1) / (er + 1))
