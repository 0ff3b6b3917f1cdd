"""The catalogs load, cover the issue's list, and every figure carries provenance."""

from __future__ import annotations

import re

import pytest

from linkmargin import catalog
from linkmargin.catalog import (
    Figure,
    all_connectors,
    all_fibers,
    all_optics,
    connector,
    fiber_attenuation_db_per_km,
    optic,
    resolve_connector,
)
from linkmargin.units import oma_correction_db

REQUIRED_OPTICS = [
    "100GBASE-SR4", "100GBASE-DR", "100G-CWDM4", "100GBASE-FR1", "200GBASE-SR4", "400GBASE-SR8",
    "400GBASE-SR4.2", "400GBASE-DR4", "400GBASE-FR4", "800GBASE-SR8", "800GBASE-DR8", "800G-2xFR4",
]  # fmt: skip
REQUIRED_CONNECTORS = [
    "MPO-8", "MPO-12", "MPO-16", "MPO-24", "MPO-8-LL", "MPO-12-LL", "MPO-16-LL", "MPO-24-LL",
    "MTP-8", "MTP-12", "MTP-16", "MTP-24", "MMC", "MMC-TMT", "LC-UPC", "LC-APC", "SN", "MDC",
    "FUSION", "MECH-SPLICE",
]  # fmt: skip


def test_all_required_present() -> None:
    assert set(REQUIRED_OPTICS) <= set(all_optics())
    assert set(REQUIRED_CONNECTORS) <= set(all_connectors())


@pytest.mark.parametrize("name", REQUIRED_OPTICS)
def test_optic_figures(name: str) -> None:
    o = optic(name)
    assert o.reach_m and set(o.reach_m) == set(o.max_channel_il_db)
    for f in o.reach_m.values():
        assert f.value is not None and f.value > 0
    # figures the analyzer needs for power margin exist for every PMD
    for fig in (o.tx_avg_min_dbm, o.tx_avg_max_dbm, o.rx_sens_oma_dbm, o.er_min_db, o.damage_dbm):
        assert fig.value is not None and fig.src
    # a missing figure must say why
    for fig in (o.connection_allowance_db, o.fiber_attenuation_db_per_km):
        assert fig.value is not None or fig.note
    assert o.tx_avg_min_dbm.value < o.tx_avg_max_dbm.value  # type: ignore[operator]
    # PAM4 carries 2 bits per symbol, NRZ one
    assert o.lane_rate_gbps == pytest.approx(o.baud_gbd * (2 if o.modulation == "PAM4" else 1))
    # line rate covers the nominal rate plus FEC overhead (<= 7 %)
    assert 1.0 < o.lane_rate_gbps * o.lanes / o.nominal_rate_gbps < 1.07
    assert o.fec == ("KR4" if o.lane_rate_gbps < 30 else "KP4")
    for fname in o.reach_m:
        assert catalog.fiber(fname).kind == o.fiber_kind


def test_rx_sens_avg_is_oma_converted() -> None:
    o = optic("400GBASE-DR4")
    # -4.4 dBm OMA at ER 3.5 dB: avg = OMA - (-1.16) = -3.24 dBm (docs/ARCHITECTURE.md "Optical conventions")
    assert o.rx_sens_avg_dbm.value == pytest.approx(-4.4 - oma_correction_db(3.5), abs=1e-3)
    assert o.rx_sens_avg_dbm.value == pytest.approx(-3.24, abs=0.01)
    assert o.rx_sens_avg_dbm.status == "D"
    assert optic("400GBASE-SR8").rx_sens_avg_dbm.status == "M"  # built on [M] figures


def test_fec_limits() -> None:
    assert catalog.fec("KP4").ber_limit.value == 2.4e-4
    assert catalog.fec("KR4").ber_limit.value == 5e-5
    assert catalog.fec("KP4").codeword_bits == 5440
    assert optic("400GBASE-SR8").port_rate_bps == pytest.approx(425e9)


@pytest.mark.parametrize("cid", REQUIRED_CONNECTORS)
def test_connector_figures(cid: str) -> None:
    c = connector(cid)
    for kind in ("MMF", "SMF"):
        assert c.il_max(kind) > 0
        assert 0 < c.il_typical(kind) <= c.il_max(kind)
    assert c.rl_min_db.value is not None or c.rl_min_db.note
    assert c.rated_matings.value is not None or c.rated_matings.note


def test_connector_semantics() -> None:
    mmc = connector("MMC")
    assert mmc.termination == "field" and mmc.gel and mmc.thermal_sensitive
    assert mmc.il_typical("MMF") == 0.3 and mmc.il_max("MMF") == 1.0
    tmt = connector("MMC-TMT")
    assert tmt.termination == "factory" and not tmt.gel and tmt.family != mmc.family
    assert connector("MTP-16").il_max("MMF") == 0.35
    assert connector("MPO-16").il_max("MMF") == 0.60 and connector("MPO-16").il_max("SMF") == 0.75
    assert resolve_connector("MPO-12", "low-loss").id == "MPO-12-LL"
    assert resolve_connector("MTP-16", "low-loss").id == "MTP-16"
    with pytest.raises(ValueError):
        resolve_connector("MTP-16", "standard")
    with pytest.raises(KeyError):
        connector("MPO-13")


def test_fiber_attenuation() -> None:
    assert fiber_attenuation_db_per_km("OM4", 850) == 3.5
    assert fiber_attenuation_db_per_km("OM4", 910) == 3.5
    assert fiber_attenuation_db_per_km("OS2", 1311) == 0.4
    with pytest.raises(KeyError):
        fiber_attenuation_db_per_km("OM6", 850)
    with pytest.raises(ValueError):
        fiber_attenuation_db_per_km("OS2", 850)


def test_unknown_optic_message_lists_known() -> None:
    with pytest.raises(KeyError, match="400GBASE-SR8"):
        optic("400GBASE-SR9")


def test_every_figure_has_provenance() -> None:
    from linkmargin.catalog import Figure, all_fibers

    figs: list[tuple[str, Figure]] = []
    for o in all_optics().values():
        for name, v in o:
            if isinstance(v, Figure):
                figs.append((f"{o.name}.{name}", v))
            elif isinstance(v, dict):
                figs += [(f"{o.name}.{name}.{k}", f) for k, f in v.items()]
    for c in all_connectors().values():
        for name, v in c:
            if isinstance(v, Figure):
                figs.append((f"{c.id}.{name}", v))
            elif isinstance(v, dict):
                figs += [(f"{c.id}.{name}.{k}", f) for k, f in v.items()]
    for fb in all_fibers().values():
        figs += [(f"{fb.name}.{k}", f) for k, f in fb.attenuation_db_per_km.items()]
    assert len(figs) > 200
    for where, f in figs:
        assert f.src.strip(), where
        assert f.value is not None or f.note, f"{where}: missing figure without a note"
        # a figure we carried over from another PMD or from memory can never claim [V]
        if "estimate" in f.src or "same lane optics" in f.src or "applied" in f.src:
            assert f.status == "M", where


def _catalog_figures() -> list[tuple[str, Figure]]:
    """Every figure of the shipped catalogs, with where it sits."""
    figs: list[tuple[str, Figure]] = []
    entries: list[tuple[str, object]] = [(o.name, o) for o in all_optics().values()]
    entries += [(c.id, c) for c in all_connectors().values()]
    for name, entry in entries:
        for field, v in entry:  # type: ignore[attr-defined]
            if isinstance(v, Figure):
                figs.append((f"{name}.{field}", v))
            elif isinstance(v, dict):
                figs += [(f"{name}.{field}.{k}", f) for k, f in v.items() if isinstance(f, Figure)]
    for fb in all_fibers().values():
        figs += [(f"{fb.name}.{k}", f) for k, f in fb.attenuation_db_per_km.items()]
    figs += [(f"fec {n}.ber_limit", catalog.fec(n).ber_limit) for n in ("KR4", "KP4")]
    return figs


# a public source names a host, a standard or an MSA; "estimate" says it is none of those
_PUBLIC = re.compile(
    r"[a-z0-9-]+\.(?:com|org|net|cn|in|be|jp)\b|\d+\.\d+\.\d+\.\d+(?::\d+)?/|IEEE|TIA|MSA|RFC|SFF|CMIS",
    re.IGNORECASE,
)


def _source_problem(f: Figure) -> str | None:
    """Why a figure's source is not acceptable, or None."""
    src = f.src.strip()
    if not src:
        return "empty source"
    for bad in ("optics-facts", ".md", "/work/", "helper memory", "shared/reference"):
        if bad in src:
            return f"cites {bad!r}, a file outside the repository"
    if src.startswith("OF "):
        return "cites a file outside the repository by abbreviation"
    if f.status == "V" and not _PUBLIC.search(src):  # seen in a source: one a reader can find
        return "[V] figure without a public source"
    if f.status == "M" and f.value is not None and not re.search(r"estimate|applied", src):
        return "[M] figure not marked as an estimate"
    return None


def test_sources_are_public_not_repo_external_files() -> None:
    figs = _catalog_figures()
    assert len(figs) > 200
    problems = [f"{where}: {p}: {f.src}" for where, f in figs if (p := _source_problem(f))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("figure", "problem"),
    [
        (Figure(value=1.8, status="M", src="OF 1a"), "by abbreviation"),
        (Figure(value=1.8, status="V", src="optics-facts.md 1a: tiafotc.org"), "outside the repository"),
        (Figure(value=1.8, status="V", src="a datasheet I saw"), "without a public source"),
        (Figure(value=1.8, status="M", src="tiafotc.org 400gbase-sr8"), "not marked as an estimate"),
        (Figure(value=1.8, status="M", src="  "), "empty"),
    ],
)
def test_source_check_catches(figure: Figure, problem: str) -> None:
    assert problem in (_source_problem(figure) or "")
    ok = Figure(value=1.8, status="V", src="tiafotc.org 400gbase-sr8 (IEEE 802.3 Clause 138)")
    assert _source_problem(ok) is None
