"""CLI commands of the collector: ``poll`` (one target, one shot, JSON lines) and ``collect``."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import typer

from linkmargin_cli.app import app


def _target(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":") if target.count(":") == 1 else (target, "", "")
    return (host or target), int(port or 161)


@app.command()
def poll(
    target: str = typer.Option(..., "--target", help="HOST[:PORT] of the SNMP agent"),
    community_env: str = typer.Option(None, "--community-env", help="env var holding the v2c community"),
    community: str = typer.Option(None, "--community", help="v2c community (prefer --community-env)"),
    v3_user: str = typer.Option(None, "--v3-user", help="SNMPv3 user (authPriv)"),
    auth_key_file: Path = typer.Option(None, "--auth-key-file", help="file holding the v3 auth passphrase"),
    priv_key_file: Path = typer.Option(None, "--priv-key-file", help="file holding the v3 priv passphrase"),
    auth: str = typer.Option("sha", help="v3 auth protocol: md5 | sha | sha224 | sha256 | sha384 | sha512"),
    priv: str = typer.Option("aes", help="v3 priv protocol: des | aes | aes192 | aes192c | aes256 | aes256c"),
    profile: str = typer.Option("auto", help="device profile name, or auto"),
    groups: str = typer.Option("counters,dom", help="poll groups, comma separated"),
    transport: str = typer.Option("gufo", help="gufo | pysnmp"),
    device: str = typer.Option(None, help="device name in the output (default: the host)"),
    as_json: bool = typer.Option(True, "--json/--no-json", help="one JSON object per sample"),
    timeout: float = typer.Option(2.0, help="seconds per request"),
    explain: bool = typer.Option(
        False, "--explain", help="show which profile matched and why, and per table what decoded"
    ),
) -> None:
    """Poll one target once and print its normalized samples (what the collector reads from it)."""
    from pydantic import ValidationError

    from collector.api import ProfileError, UnknownProfile, poll_once
    from collector.transport import SnmpError, Target
    from linkmargin.credentials import SnmpCredentials

    host, port = _target(target)
    try:
        if v3_user:
            creds = SnmpCredentials.model_validate(
                {
                    "version": "3",
                    "user": v3_user,
                    "auth": auth,
                    "priv": priv,
                    "auth_key_file": str(auth_key_file) if auth_key_file else None,
                    "priv_key_file": str(priv_key_file) if priv_key_file else None,
                }
            )
        elif community_env:
            creds = SnmpCredentials.model_validate({"version": "2c", "community_env": community_env})
        else:
            creds = SnmpCredentials.v2c(community or "public")
    except ValidationError as exc:
        for e in exc.errors():  # e.g. "auth 'md4' is not supported by the collector's SNMP transports ..."
            typer.echo(f"poll: {e['msg'].removeprefix('Value error, ')}", err=True)
        raise typer.Exit(2) from None
    tgt = Target(name=device or host, host=host, port=port, credentials=creds, timeout=timeout)
    try:
        if explain:
            _explain(tgt, profile, groups.split(","), transport)
            return
        frame = asyncio.run(poll_once(tgt, profile=profile, groups=groups.split(","), transport=transport))
    except UnknownProfile as exc:
        typer.echo(f"poll: {exc}", err=True)
        raise typer.Exit(2) from None
    except SnmpError as exc:
        typer.echo(f"poll: {host}:{port}: {exc or type(exc).__name__}", err=True)
        raise typer.Exit(2) from None
    except ProfileError as exc:
        for issue in exc.errors:
            typer.echo(str(issue), err=True)
        raise typer.Exit(2) from None
    for row in frame.iter_rows(named=True):
        v = row["value"]
        doc = {
            "ts": row["ts"].isoformat(),
            "device": row["device"],
            "port": row["port"],
            "lane": row["lane"],
            "metric": row["metric"],
            "value": v if v is None or math.isfinite(v) else None,
            "reason": row["reason"],
        }
        if row["counter"] is not None:
            doc["counter"] = row["counter"]
            doc["counter_bits"] = row["counter_bits"]
        if row["aggregate"]:
            doc["aggregate"] = True
        typer.echo(json.dumps(doc) if as_json else " ".join(f"{k}={v}" for k, v in doc.items()))


def _explain(tgt: object, profile: str, groups: list[str], transport: str) -> None:
    """``poll --explain``: the profile and why, then per table decoded / absent by reason / failed."""
    from collector.api import explain

    ex = asyncio.run(explain(tgt, profile=profile, groups=groups, transport=transport))  # type: ignore[arg-type]
    generic = " (no vendor profile: the generic ENTITY-SENSOR-MIB path)" if ex.generic else ""
    typer.echo(f"{ex.device}: profile {ex.profile}{generic}: {ex.why}")
    if ex.sys_descr:
        typer.echo(f"sysDescr: {ex.sys_descr}")
    for t in ex.tables:
        absent = ", ".join(f"{r} {n}" for r, n in t.absent.items()) or "none"
        typer.echo(
            f"  {t.group:<9} {t.table} ({t.layout}): {t.decoded} decoded, absent: {absent}, {t.failed} failed"
        )
    for name in ex.not_polled:
        typer.echo(f"  not polled: {name} (its release condition does not match this sysDescr)")


@app.command()
def collect(
    config: Path = typer.Option(
        ..., "--config", help="collector YAML config (configs/collector.example.yaml)"
    ),
    transport: str = typer.Option(None, help="gufo | pysnmp (default: the config's transport)"),
    check: bool = typer.Option(False, "--check", help="only validate the config (exit 2 on errors)"),
) -> None:
    """Run the collector daemon: poll every configured device on its group schedules."""
    from collector.api import ConfigError, load_config, run_from_config

    try:
        # checked before anything starts: every problem as FILE:LINE:COL: field: message, no traceback
        load_config(config)
    except ConfigError as exc:
        for issue in exc.errors:
            typer.echo(str(issue), err=True)
        raise typer.Exit(2) from None
    if check:
        typer.echo(f"{config}: ok")
        return
    asyncio.run(run_from_config(config, transport=transport))
