"""Adapters between the core inventory and each part's own inputs. The only place they meet.

- :func:`spec_from_inventory`: the analyzer's lane / point / event tables from the recorded channels.
- :func:`planned_from_inventory`: the analyzer's planned matings from the inventory's maintenance windows.
- :func:`targets_from_inventory`: the collector's SNMP targets, made as its own config makes them.
- :func:`gnmi_targets_from_inventory`: the collector's gNMI targets (``transport: gnmi`` devices).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from analyzer.spec import EVENT_SCHEMA, LinkSpec
from collector.config import SnmpConf, gnmi_targets_for, targets_for
from collector.gnmi.client import GnmiTarget
from collector.transport import Target
from linkmargin.budget import expected_channel_loss
from linkmargin.catalog import connector, optic
from linkmargin.inventory.matings import is_mating
from linkmargin.inventory.models import Inventory, Link


def _lane_rows(link: Link) -> list[dict[str, Any]]:
    pmd = optic(link.optic)
    loss = expected_channel_loss(
        pmd, link.fiber.type, link.fiber.length_m, [connector(c.type) for c in link.connections]
    )
    rows = []
    for rx, tx, direction in ((link.b, link.a, "a->b"), (link.a, link.b, "b->a")):
        # a broken-out end's module lanes (lane 3 of a DR4) face the far end's lanes in list order
        for lane, far_lane in zip(rx.lane_numbers(pmd.lanes), tx.lane_numbers(pmd.lanes), strict=True):
            rows.append(
                {
                    "link": link.id,
                    "device": rx.device,
                    "port": rx.port,
                    "lane": lane,
                    "direction": direction,
                    "far_device": tx.device,
                    "far_port": tx.port,
                    "far_lane": far_lane,
                    "far_module": tx.module,
                    "sensitivity_dbm": pmd.rx_sens_avg_dbm.value,
                    "fec_limit_ber": pmd.fec_code.ber_limit.value,
                    "fec_n_symbols": pmd.fec_code.n_symbols,
                    "fec_symbol_bits": pmd.fec_code.symbol_bits,
                    "lane_rate_bps": pmd.lane_rate_bps,
                    # an end on lanes of a module: its port's lanes over all links (LinkSpec.build)
                    "port_rate_bps": pmd.port_rate_bps if rx.lanes is None else None,
                    "low_warn_dbm": None,  # the module's own threshold arrives with the samples
                    "expected_loss_db": loss.typical_db,
                }
            )
    return rows


def spec_from_inventory(inv: Inventory) -> LinkSpec:
    """The analyzer's view of the fleet: every receiving lane, connection point and recorded event."""
    lanes: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for link in inv.links:
        lanes += _lane_rows(link)
        for pos, cp in enumerate(link.connections):
            cat = connector(cp.type)
            points.append(
                {
                    "link": link.id,
                    "point": cp.id,
                    "position": pos,
                    "family": cat.family,
                    "termination": cp.termination or cat.termination,
                    "connector": cat.id,
                    "matings_before_records": cp.matings_before_records,
                    "rated_matings": cat.rated_matings.value or None,  # 0 (splice) or unknown: not rated
                    "reflective": cat.gel,
                }
            )
            events += [{"point": cp.id, "ts": ev.at, "kind": ev.kind} for ev in cp.events]
    return LinkSpec.build(lanes, points, events)


def planned_from_inventory(inv: Inventory) -> pl.DataFrame:
    """The planned matings of the inventory's maintenance windows: window, link, point, ts, kind.

    ``ts`` is the window's start; only actions that are a mating (:mod:`linkmargin.inventory.matings`)
    are kept: a planned cleaning adds no step risk.
    """
    rows = [
        {"window": w, "link": lk, "point": pt, "ts": ts, "kind": kind}
        for w, lk, pt, ts, kind in inv.planned_work()
        if is_mating(kind)
    ]
    schema = {"window": pl.String(), "link": pl.String(), **EVENT_SCHEMA}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def targets_from_inventory(inv: Inventory, timeout: float = 2.0) -> list[Target]:
    """One SNMP target per SNMP device of the inventory, as the collector's config would make it."""
    return targets_for(inv.devices, inv.credentials, SnmpConf(timeout=timeout))[0]


def gnmi_targets_from_inventory(inv: Inventory) -> list[GnmiTarget]:
    """One gNMI target per ``transport: gnmi`` device, as the collector's config would make it."""
    return gnmi_targets_for(inv.devices, inv.gnmi_credentials)


def profiles_from_inventory(inv: Inventory) -> dict[str, str]:
    """Device name -> collector profile name (``auto`` unless the inventory pins one)."""
    return {d.name: d.profile for d in inv.devices}
