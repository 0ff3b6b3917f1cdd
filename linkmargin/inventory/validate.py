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
from typing import Any

from pydantic import BaseModel, ValidationError

from linkmargin import catalog
from linkmargin.inventory.models import Credentials, Device, Inventory, Link, Site

__all__ = ["Loc", "Problem", "validate_document"]

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]
FUTURE_SLACK = timedelta(minutes=5)  # clock skew between the editor's machine and ours


def _fields(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


def _pyd_problems(err: ValidationError, prefix: Loc, model: type[BaseModel], data: Any) -> list[Problem]:
    out: list[Problem] = []
    for e in err.errors():
        loc: Loc = prefix + tuple(e["loc"])
        typ = e["type"]
        if typ == "extra_forbidden":
            key = str(e["loc"][-1]) if e["loc"] else "?"
            owner = _owner_model(model, tuple(e["loc"][:-1]))
            hint = difflib.get_close_matches(key, _fields(owner), n=1) if owner else []
            msg = f"unknown key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
        elif typ == "missing":
            msg = f"missing required key {e['loc'][-1]!r}"
        elif typ == "value_error":
            msg = str(e["msg"]).removeprefix("Value error, ")
        else:
            msg = f"{e['msg']}, got {e['input']!r}" if typ.startswith("literal") else str(e["msg"])
        out.append((loc, msg))
    return out


def _owner_model(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that owns the key at ``loc`` (walks field annotations)."""
    cur: Any = model
    for part in loc:
        if isinstance(part, int) or not (isinstance(cur, type) and issubclass(cur, BaseModel)):
            continue
        f = cur.model_fields.get(part)
        if f is None:
            return None
        ann = f.annotation
        args = getattr(ann, "__args__", ())
        cand = [a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)]
        cur = cand[0] if cand else None
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def _validate_piece(model: type[BaseModel], data: Any, loc: Loc, out: list[Problem]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        out.extend(_pyd_problems(err, loc, model, data))
        return None


def _known(name: str, known: Mapping[str, object], what: str) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"unknown {what} {name!r}" + (
        f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(sorted(known))}"
    )


def _check_link(link: Link, loc: Loc, now: datetime, out: list[Problem]) -> None:
    optics, fibers, conns = catalog.all_optics(), catalog.all_fibers(), catalog.all_connectors()
    pmd = optics.get(link.optic)
    fib = fibers.get(link.fiber.type)
    if pmd is None:
        out.append(((*loc, "optic"), _known(link.optic, optics, "optic")))
    if fib is None:
        out.append(((*loc, "fiber", "type"), _known(link.fiber.type, fibers, "fiber type")))
    if pmd is not None and fib is not None:
        if pmd.fiber_kind != fib.kind:
            out.append(
                (
                    (*loc, "fiber", "type"),
                    f"{pmd.name} is a {pmd.fiber_kind} optic but {fib.name} is {fib.kind}",
                )
            )
        else:
            reach = pmd.reach_on(fib.name)
            if reach is None:
                out.append(((*loc, "fiber", "type"), f"{pmd.name} has no catalogued reach on {fib.name}"))
            elif link.fiber.length_m > reach:
                out.append(
                    (
                        (*loc, "fiber", "length_m"),
                        f"{link.fiber.length_m:g} m is beyond {pmd.name}'s reach "
                        f"of {reach:g} m on {fib.name}",
                    )
                )
    for j, cp in enumerate(link.connections):
        cloc: Loc = (*loc, "connections", j)
        if cp.type not in conns:
            out.append(((*cloc, "type"), _known(cp.type, conns, "connector type")))
            continue
        try:
            ct = cp.catalog
        except ValueError as exc:
            out.append(((*cloc, "grade"), str(exc)))
            continue
        prev: datetime | None = None
        for k, ev in enumerate(cp.events):
            eloc: Loc = (*cloc, "events", k)
            if prev is not None and ev.at < prev:
                out.append(
                    ((*eloc, "at"), f"event out of order: {ev.at.isoformat()} is before {prev.isoformat()}")
                )
            if ev.at > now + FUTURE_SLACK:
                out.append(((*eloc, "at"), f"event in the future: {ev.at.isoformat()}"))
            if ct.is_splice and ev.kind in ("mated", "unmated"):
                out.append(((*eloc, "kind"), f"{ct.id} is a splice; it cannot be {ev.kind}"))
            prev = ev.at if prev is None else max(prev, ev.at)


def validate_document(doc: Any, now: datetime | None = None) -> tuple[Inventory | None, list[Problem]]:
    """Validate a whole inventory document; returns the Inventory (None if any problem) and all problems."""
    now = now or datetime.now(UTC)
    out: list[Problem] = []
    if not isinstance(doc, Mapping):
        return None, [((), "expected a mapping with keys site, credentials, devices, links")]
    top = {"site", "credentials", "devices", "links"}
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

    creds: dict[str, Credentials] = {}
    raw_creds = doc.get("credentials") or {}
    if not isinstance(raw_creds, Mapping):
        out.append((("credentials",), "expected a mapping of name -> credentials"))
        raw_creds = {}
    for name, c in raw_creds.items():
        got = _validate_piece(Credentials, c, ("credentials", str(name)), out)
        if got is not None:
            creds[str(name)] = got

    devices: list[Device] = []
    by_name: dict[str, int] = {}
    raw_devs = doc.get("devices") or []
    if not isinstance(raw_devs, list):
        out.append((("devices",), "expected a list of devices"))
        raw_devs = []
    for i, d in enumerate(raw_devs):
        dev = _validate_piece(Device, d, ("devices", i), out)
        if dev is None:
            continue
        if dev.name in by_name:
            out.append(
                (
                    ("devices", i, "name"),
                    f"duplicate device name {dev.name!r} (also devices[{by_name[dev.name]}])",
                )
            )
        by_name.setdefault(dev.name, i)
        if dev.credentials not in raw_creds:
            out.append((("devices", i, "credentials"), _known(dev.credentials, creds or {}, "credentials")))
        devices.append(dev)

    links: list[Link] = []
    link_ids: dict[str, int] = {}
    point_ids: dict[str, Loc] = {}
    ports: dict[tuple[str, str], str] = {}
    raw_links = doc.get("links") or []
    if not isinstance(raw_links, list):
        out.append((("links",), "expected a list of links"))
        raw_links = []
    for i, lk_raw in enumerate(raw_links):
        loc: Loc = ("links", i)
        lk = _validate_piece(Link, lk_raw, loc, out)
        if lk is None:
            continue
        if lk.id in link_ids:
            out.append(((*loc, "id"), f"duplicate link id {lk.id!r} (also links[{link_ids[lk.id]}])"))
        link_ids.setdefault(lk.id, i)
        for side in ("a", "b"):
            end = getattr(lk, side)
            if raw_devs and end.device not in by_name:
                out.append(((*loc, side, "device"), _known(end.device, by_name, "device")))
            key = (end.device, end.port)
            if key in ports:
                out.append(
                    ((*loc, side, "port"), f"{end.device} {end.port} is already used by link {ports[key]!r}")
                )
            else:
                ports[key] = lk.id
        for j, cp in enumerate(lk.connections):
            if cp.id in point_ids:
                other = ".".join(str(p) for p in point_ids[cp.id])
                out.append(
                    (
                        (*loc, "connections", j, "id"),
                        f"duplicate connection point id {cp.id!r} (also {other})",
                    )
                )
            else:
                point_ids[cp.id] = (*loc, "connections", j)
        _check_link(lk, loc, now, out)
        links.append(lk)

    if out or site is None:
        return None, out
    return Inventory(site=site, credentials=creds, devices=devices, links=links), out
