"""Validation of an inventory document (plain dicts and lists), independent of its file format.

Returns every problem as (location path, message); the YAML and CSV front ends turn the path into a
file position. Structure is checked by pydantic piece by piece (so one bad link does not hide the
others), then the cross-references and physics: catalog names, fiber kind, reach, devices, ports,
duplicate ids, event order.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from linkmargin import catalog
from linkmargin.credentials import GnmiCredentials, SnmpCredentials
from linkmargin.inventory.models import (
    ConnectionPoint,
    Device,
    End,
    FiberSpan,
    Inventory,
    Link,
    MaintenanceWindow,
    Site,
)
from linkmargin.topics import MAX_NAME_CHARS, topic_safe
from linkmargin.yamlcheck import Loc, Problem, did_you_mean, loc_str, pydantic_problems

__all__ = ["DEVICE_NAME_RULE", "Loc", "Problem", "loc_str", "validate_document"]

M = TypeVar("M", bound=BaseModel)
FUTURE_SLACK = timedelta(minutes=5)  # clock skew between the editor's machine and ours
DEVICE_NAME_RULE = (
    f"a device name is one MQTT topic level: 1 to {MAX_NAME_CHARS} characters, none of / + # or NUL"
)


def _validate_piece(model: type[BaseModel], data: Any, loc: Loc, out: list[Problem]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        out.extend(pydantic_problems(err, loc, model, show_input=False))
        return None


def _known(name: str, known: Mapping[str, object], what: str) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"unknown {what} {name!r}" + (
        f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(sorted(known))}"
    )


def _check_device_name(name: str, loc: Loc, out: list[Problem]) -> None:
    """A device's name becomes its bus topic level (linkmargin/v1/samples/NAME): it must be one."""
    if not topic_safe(name):
        out.append(((*loc, "name"), f"{name[:80]!r}: {DEVICE_NAME_RULE}"))


def _check_device_credentials(
    dev: Device, loc: Loc, snmp: Mapping[str, Any], gnmi: Mapping[str, Any], out: list[Problem]
) -> None:
    """The device's credentials name an entry of its transport's map (SNMP: credentials, gNMI:
    gnmi_credentials); an entry of the other map is named as such. An entry with errors of its own is
    still defined: one error, not two."""
    own, other = (gnmi, snmp) if dev.transport == "gnmi" else (snmp, gnmi)
    section = "gnmi_credentials" if dev.transport == "gnmi" else "credentials"
    if dev.credentials in own:
        return
    if dev.credentials in other:
        kind = "SNMP" if dev.transport == "gnmi" else "gNMI"
        msg = (
            f"{dev.credentials!r} are {kind} credentials but the device's transport is {dev.transport}; "
            f"name an entry of {section}" + (f" (defined: {', '.join(sorted(map(str, own)))})" if own else "")
        )
        out.append((loc, msg))
        return
    names = {str(k): None for k in own}
    out.append(
        (
            loc,
            _known(dev.credentials, names, f"{section} entry")
            if names
            else (f"unknown {section} entry {dev.credentials!r}; the inventory defines no {section}"),
        )
    )


def _quiet(model: type[M], data: Any) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def _check_link(
    optic_name: str | None,
    span: FiberSpan | None,
    points: list[tuple[int, ConnectionPoint | str]],
    loc: Loc,
    now: datetime,
    out: list[Problem],
) -> None:
    """Catalog names, fiber kind, reach and event history of one link (whatever parts validated)."""
    optics, fibers, conns = catalog.all_optics(), catalog.all_fibers(), catalog.all_connectors()
    pmd = optics.get(optic_name) if optic_name is not None else None
    fib = fibers.get(span.type) if span is not None else None
    if optic_name is not None and pmd is None:
        out.append(((*loc, "optic"), _known(optic_name, optics, "optic")))
    if span is not None and fib is None:
        out.append(((*loc, "fiber", "type"), _known(span.type, fibers, "fiber type")))
    if pmd is not None and fib is not None and span is not None:
        if pmd.fiber_kind != fib.kind:
            msg = f"{pmd.name} is a {pmd.fiber_kind} optic but {fib.name} is {fib.kind}"
            out.append(((*loc, "fiber", "type"), msg))
        else:
            reach = pmd.reach_on(fib.name)
            if reach is None:
                out.append(((*loc, "fiber", "type"), f"{pmd.name} has no catalogued reach on {fib.name}"))
            elif span.length_m > reach:
                msg = f"{span.length_m:g} m is beyond {pmd.name}'s reach of {reach:g} m on {fib.name}"
                out.append(((*loc, "fiber", "length_m"), msg))
    for j, cp in points:
        cloc: Loc = (*loc, "connections", j)
        ctype = cp if isinstance(cp, str) else cp.type
        if ctype not in conns:
            out.append(((*cloc, "type"), _known(ctype, conns, "connector type")))
            continue
        if isinstance(cp, str):
            continue  # the rest of this point did not validate; its errors are already reported
        try:
            ct = cp.catalog
        except ValueError as exc:
            out.append(((*cloc, "grade"), str(exc)))
            continue
        prev: datetime | None = None
        for k, ev in enumerate(cp.events):
            eloc: Loc = (*cloc, "events", k)
            if prev is not None and ev.at < prev:
                msg = f"event out of order: {ev.at.isoformat()} is before {prev.isoformat()}"
                out.append(((*eloc, "at"), msg))
            if ev.at > now + FUTURE_SLACK:
                out.append(((*eloc, "at"), f"event in the future: {ev.at.isoformat()}"))
            if ct.is_splice and ev.kind in ("mated", "unmated"):
                out.append(((*eloc, "kind"), f"{ct.id} is a splice; it cannot be {ev.kind}"))
            prev = ev.at if prev is None else max(prev, ev.at)


def _check_end_lanes(end: End, optic_name: str | None, loc: Loc, out: list[Problem]) -> None:
    """A broken-out end: its module is a catalogued optic whose lanes are the link optic's kind of lane,
    it names one module lane per lane of the link's optic, and each lies within the module's lanes."""
    optics = catalog.all_optics()
    pmd = optics.get(optic_name) if optic_name is not None else None
    mod = pmd
    if end.module is not None:
        mod = optics.get(end.module)
        if mod is None:
            out.append(((*loc, "module"), _known(end.module, optics, "optic")))
        elif pmd is not None and (mod.lane_rate_bps, mod.fiber_kind, mod.wavelength_nm) != (
            pmd.lane_rate_bps,
            pmd.fiber_kind,
            pmd.wavelength_nm,
        ):
            msg = f"{mod.name}'s lanes are not {pmd.name} lanes: it cannot be broken out to {pmd.name}"
            out.append(((*loc, "module"), msg))
    if end.lanes is None:
        return
    if pmd is not None and len(end.lanes) != pmd.lanes:
        n = pmd.lanes
        msg = f"{len(end.lanes)} lane(s) given; a {pmd.name} link end uses {n} lane{'s' if n > 1 else ''}"
        out.append(((*loc, "lanes"), msg))
    if mod is None:
        return
    for k, lane in enumerate(end.lanes):
        if lane > mod.lanes:
            msg = f"lane {lane} is beyond {mod.name}'s {mod.lanes} lane{'s' if mod.lanes > 1 else ''}"
            if end.module is None:
                msg += "; a broken-out module? name it: module: <its optic>"
            out.append(((*loc, "lanes", k), msg))


def _claim_port(
    end: End, link: str, ports: dict[tuple[str, str], dict[int | None, str]], loc: Loc, out: list[Problem]
) -> None:
    """Record the (device, port) lanes ``link`` uses; a lane (or a whole port) used twice is an error.

    Links may share one port only by ``lanes:`` (a broken-out module whose lanes all arrive on it)."""
    used = ports.setdefault((end.device, end.port), {})
    if end.lanes is None:
        if used:
            other = next(iter(used.values()))
            out.append(((*loc, "port"), f"{end.device} {end.port} is already used by link {other!r}"))
        else:
            used[None] = link
        return
    if None in used:
        out.append(((*loc, "port"), f"{end.device} {end.port} is already used by link {used[None]!r}"))
        return
    for k, lane in enumerate(end.lanes):
        if lane in used:
            msg = f"lane {lane} of {end.device} {end.port} is already used by link {used[lane]!r}"
            out.append(((*loc, "lanes", k), msg))
        else:
            used[lane] = link


def validate_document(doc: Any, now: datetime | None = None) -> tuple[Inventory | None, list[Problem]]:
    """Validate a whole inventory document; returns the Inventory (None if any problem) and all problems."""
    now = now or datetime.now(UTC)
    out: list[Problem] = []
    if not isinstance(doc, Mapping):
        return None, [((), "expected a mapping with keys site, credentials, devices, links")]
    top = {"site", "credentials", "gnmi_credentials", "devices", "links", "maintenance"}
    for key in doc:
        if key not in top:
            hint = difflib.get_close_matches(str(key), list(top), n=1)
            out.append(
                ((str(key),), f"unknown key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
            )
    site_raw = doc.get("site")
    site = _validate_piece(
        Site, {"name": site_raw} if isinstance(site_raw, str) else site_raw, ("site",), out
    )
    if "site" not in doc:
        out.append(((), "missing required key 'site'"))

    creds: dict[str, SnmpCredentials] = {}
    raw_creds = doc.get("credentials") or {}
    if not isinstance(raw_creds, Mapping):
        out.append((("credentials",), "expected a mapping of name -> credentials"))
        raw_creds = {}
    for name, c in raw_creds.items():
        got = _validate_piece(SnmpCredentials, c, ("credentials", str(name)), out)
        if got is not None:
            creds[str(name)] = got
    gcreds: dict[str, GnmiCredentials] = {}
    raw_gcreds = doc.get("gnmi_credentials") or {}
    if not isinstance(raw_gcreds, Mapping):
        out.append((("gnmi_credentials",), "expected a mapping of name -> gNMI credentials"))
        raw_gcreds = {}
    for name, c in raw_gcreds.items():
        gc = _validate_piece(GnmiCredentials, c, ("gnmi_credentials", str(name)), out)
        if gc is not None:
            gcreds[str(name)] = gc

    devices: list[Device] = []
    by_name: dict[str, int] = {}
    raw_devs = doc.get("devices") or []
    if not isinstance(raw_devs, list):
        out.append((("devices",), "expected a list of devices"))
        raw_devs = []
    for i, d in enumerate(raw_devs):
        dev = _validate_piece(Device, d, ("devices", i), out)
        if dev is None:
            # its own errors are reported; links naming it are not wrong too
            if isinstance(d, Mapping) and isinstance(d.get("name"), str):
                by_name.setdefault(d["name"], i)
            continue
        _check_device_name(dev.name, ("devices", i), out)
        if dev.name in by_name:
            out.append(
                (
                    ("devices", i, "name"),
                    f"duplicate device name {dev.name!r} (also devices[{by_name[dev.name]}])",
                )
            )
        by_name.setdefault(dev.name, i)
        _check_device_credentials(dev, ("devices", i, "credentials"), raw_creds, raw_gcreds, out)
        devices.append(dev)

    links: list[Link] = []
    link_ids: dict[str, int] = {}
    point_ids: dict[str, Loc] = {}
    ports: dict[tuple[str, str], dict[int | None, str]] = {}
    raw_links = doc.get("links") or []
    if not isinstance(raw_links, list):
        out.append((("links",), "expected a list of links"))
        raw_links = []
    for i, lk_raw in enumerate(raw_links):
        loc: Loc = ("links", i)
        lk = _validate_piece(Link, lk_raw, loc, out)
        if lk is not None:
            links.append(lk)
            link_id: str | None = lk.id
            ends = [("a", lk.a), ("b", lk.b)]
            optic_name: str | None = lk.optic
            span: FiberSpan | None = lk.fiber
            points: list[tuple[int, ConnectionPoint | str]] = list(enumerate(lk.connections))
        else:
            # cross-check whatever parts did validate, so one typo does not hide the rest
            raw = lk_raw if isinstance(lk_raw, Mapping) else {}
            link_id = raw.get("id") if isinstance(raw.get("id"), str) else None
            ends = [(side, e) for side in ("a", "b") if (e := _quiet(End, raw.get(side))) is not None]
            optic_name = raw.get("optic") if isinstance(raw.get("optic"), str) else None
            span = _quiet(FiberSpan, raw.get("fiber"))
            points = []
            raw_points = raw.get("connections")
            for j, rp in enumerate(raw_points if isinstance(raw_points, list) else []):
                qp = _quiet(ConnectionPoint, rp)
                if qp is not None:
                    points.append((j, qp))
                elif isinstance(rp, Mapping) and isinstance(rp.get("type"), str):
                    points.append((j, rp["type"]))
        if link_id is not None:
            if link_id in link_ids:
                msg = f"duplicate link id {link_id!r} (also links[{link_ids[link_id]}])"
                out.append(((*loc, "id"), msg))
            link_ids.setdefault(link_id, i)
        for side, end in ends:
            if raw_devs and end.device not in by_name:
                out.append(((*loc, side, "device"), _known(end.device, by_name, "device")))
            _check_end_lanes(end, optic_name, (*loc, side), out)
            _claim_port(end, link_id or f"links[{i}]", ports, (*loc, side), out)
        for j, cp in points:
            if isinstance(cp, str):
                continue
            if cp.id in point_ids:
                other = loc_str(point_ids[cp.id])
                msg = f"duplicate connection point id {cp.id!r} (also {other})"
                out.append(((*loc, "connections", j, "id"), msg))
            else:
                point_ids[cp.id] = (*loc, "connections", j)
        _check_link(optic_name, span, points, loc, now, out)

    maintenance = _check_maintenance(doc.get("maintenance"), link_ids, point_ids, links, out)
    if out or site is None:
        return None, out
    inv = Inventory(
        site=site,
        credentials=creds,
        gnmi_credentials=gcreds,
        devices=devices,
        links=links,
        maintenance=maintenance,
    )
    return inv, out


def _check_maintenance(
    raw: Any, link_ids: Mapping[str, int], point_ids: Mapping[str, Loc], links: list[Link], out: list[Problem]
) -> list[MaintenanceWindow]:
    """Planned windows: their shape, unique ids, and that every link and point they name exists.

    Future times are allowed here (and only here): a window is work still to be done.
    """
    if raw is None:
        return []
    if not isinstance(raw, list):
        out.append((("maintenance",), "expected a list of maintenance windows"))
        return []
    splices = {cp.id for lk in links for cp in lk.connections if _quiet_splice(cp)}
    windows: list[MaintenanceWindow] = []
    ids: dict[str, int] = {}
    for i, w_raw in enumerate(raw):
        loc: Loc = ("maintenance", i)
        w = _validate_piece(MaintenanceWindow, w_raw, loc, out)
        if w is None:
            continue
        if w.id in ids:
            out.append(
                ((*loc, "id"), f"duplicate maintenance window id {w.id!r} (also maintenance[{ids[w.id]}])")
            )
        ids.setdefault(w.id, i)
        for j, lid in enumerate(w.links or []):
            if lid not in link_ids:
                out.append(((*loc, "links", j), f"unknown link {lid!r}" + did_you_mean(lid, link_ids)))
        for j, pid in enumerate(w.points or []):
            if pid not in point_ids:
                msg = f"unknown connection point {pid!r}" + did_you_mean(pid, point_ids)
                out.append(((*loc, "points", j), msg))
            elif "mate" in w.actions and pid in splices:
                out.append(((*loc, "points", j), f"{pid} is a splice; it cannot be mated"))
        windows.append(w)
    return windows


def _quiet_splice(cp: ConnectionPoint) -> bool:
    """Whether the point is a splice (False when its type or grade is itself an error)."""
    try:
        return cp.catalog.is_splice
    except (KeyError, ValueError):
        return False
