"""``linkmargin profiles``: the device profiles the collector knows and what each reads."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from linkmargin_cli.app import app

EXIT_BAD = 2


@app.command("profiles")
def profiles(
    name: Annotated[str | None, typer.Argument(help="Show only this profile")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per profile")] = False,
) -> None:
    """List the device profiles (packaged and $LINKMARGIN_PROFILE_PATH): how each is matched, its
    no-light rules and, per table, the metrics it reads."""
    from collector.api import ProfileError, UnknownProfile, describe, load_profile, profile_names

    names = [name] if name else profile_names()
    try:
        docs = [describe(load_profile(n)) for n in names]
    except UnknownProfile as exc:
        typer.echo(f"profiles: {exc}", err=True)
        raise typer.Exit(EXIT_BAD) from None
    except ProfileError as exc:
        for issue in exc.errors:
            typer.echo(str(issue), err=True)
        raise typer.Exit(EXIT_BAD) from None
    if as_json:
        for d in docs:
            typer.echo(json.dumps(d))
        return
    for d in docs:
        match = []
        if d["sys_object_id"]:
            match.append("sysObjectID " + ", ".join(d["sys_object_id"]))  # type: ignore[arg-type]
        if d["probe"]:
            match.append("probe " + ", ".join(d["probe"]))  # type: ignore[arg-type]
        typer.echo(
            f"{d['name']}: {' or '.join(match) or 'by name or as an include'} (priority {d['priority']})"
        )
        if d["absent"]:
            typer.echo(f"  absent: {json.dumps(d['absent'])}")
        if d["breakout"]:
            typer.echo(f"  breakout: {json.dumps(d['breakout'])}")
        for t in d["tables"]:  # type: ignore[attr-defined]
            cond = t.get("when_sys_descr") or t.get("unless_sys_descr")
            when = f" [sysDescr {'~' if t.get('when_sys_descr') else '!~'} {cond}]" if cond else ""
            typer.echo(
                f"  {t['group']:<9} {t['name']} ({t['layout']}, {t['root']}){when}: {', '.join(t['metrics'])}"
            )
