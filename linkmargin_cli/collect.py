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
    if port and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise typer.BadParameter(f"{target!r}: the port must be a number 1..65535", param_hint="'--target'")
    return (host or target), int(port or 161)


def _fail(line: str, hint: str | None = None) -> typer.Exit:
    """A poll that cannot be made: one line of what happened, one of what to check; exit 2."""
    typer.echo(f"poll: {line}", err=True)
    if hint:
        typer.echo(hint, err=True)
    return typer.Exit(2)


@app.command()
def poll(
    target: str = typer.Option(None, "--target", help="HOST[:PORT] of the SNMP agent"),
    gnmi: str = typer.Option(None, "--gnmi", help="HOST:PORT of a gNMI target (instead of --target)"),
    gnmi_user: str = typer.Option(None, "--gnmi-user", help="gNMI username"),
    gnmi_password_env: str = typer.Option(None, "--gnmi-password-env", help="env var holding the password"),
    gnmi_password_file: Path = typer.Option(None, "--gnmi-password-file", help="file holding the password"),
    gnmi_ca_file: Path = typer.Option(None, "--gnmi-ca-file", help="CA certificate(s) to check the target"),
    gnmi_cert_file: Path = typer.Option(None, "--gnmi-cert-file", help="client certificate (mutual TLS)"),
    gnmi_key_file: Path = typer.Option(None, "--gnmi-key-file", help="client key (mutual TLS)"),
    gnmi_plaintext: bool = typer.Option(False, "--gnmi-plaintext", help="no TLS (lab only)"),
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
    from collector.transport import SnmpError, SnmpTimeout, Target
    from linkmargin.credentials import SecretError, SnmpCredentials

    if (target is None) == (gnmi is None):
        typer.echo("poll: give --target HOST[:PORT] (SNMP) or --gnmi HOST:PORT", err=True)
        raise typer.Exit(2)
    if gnmi is not None:
        frame = _poll_gnmi(
            gnmi,
            device,
            "openconfig" if profile == "auto" else profile,
            groups,
            timeout,
            {
                "tls": not gnmi_plaintext,
                "username": gnmi_user,
                "password_env": gnmi_password_env,
                "password_file": str(gnmi_password_file) if gnmi_password_file else None,
                "ca_file": str(gnmi_ca_file) if gnmi_ca_file else None,
                "cert_file": str(gnmi_cert_file) if gnmi_cert_file else None,
                "key_file": str(gnmi_key_file) if gnmi_key_file else None,
            },
        )
        _print(frame, as_json)
        return
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
    try:  # an unset variable or unreadable key file is named before anything is sent
        creds.v3_keys() if creds.version == "3" else creds.community_secret()
    except SecretError as exc:
        raise _fail(str(exc)) from None
    tgt = Target(name=device or host, host=host, port=port, credentials=creds, timeout=timeout)
    where = f"{host}:{port}"
    try:
        if explain:
            _explain(tgt, profile, groups.split(","), transport)
            return
        frame = asyncio.run(poll_once(tgt, profile=profile, groups=groups.split(","), transport=transport))
    except SnmpTimeout:
        raise _fail(
            f"{where}: no answer ({tgt.retries + 1} tries of {timeout:g} s)",
            "check that an SNMP agent listens there, and the "
            + ("community (a v2c agent ignores a wrong one)" if creds.version == "2c" else "v3 user"),
        ) from None
    except SnmpError as exc:
        text = str(exc).removeprefix(f"{tgt.name}: ")
        if "auth" in text.lower() or "digest" in text.lower():
            text = f"authentication failed ({text})"
        hint = None
        if creds.version == "3":
            hint = "the agent refused the v3 request: check --v3-user, --auth, --priv and the key files"
        raise _fail(f"{where}: {text}", hint) from None
    except ProfileError as exc:
        for issue in exc.errors:
            typer.echo(str(issue), err=True)
        raise typer.Exit(2) from None
    except (UnknownProfile, ValueError) as exc:
        raise _fail(str(exc)) from None
    _print(frame, as_json)


def _poll_gnmi(
    addr: str, device: str | None, profile: str, groups: str, timeout: float, creds: dict
) -> object:
    """One snapshot of a gNMI target (exit 2 with one line on a bad option or an unreachable target)."""
    from pydantic import ValidationError

    from collector.gnmi.client import GnmiTarget
    from collector.gnmi.errors import GnmiError
    from collector.gnmi.profile import ProfileError
    from collector.gnmi.stream import snapshot
    from linkmargin.credentials import GnmiCredentials

    host, port = _target(addr)
    try:
        c = GnmiCredentials.model_validate({k: v for k, v in creds.items() if v is not None})
    except ValidationError as exc:
        for e in exc.errors():
            typer.echo(f"poll: {e['msg'].removeprefix('Value error, ')}", err=True)
        raise typer.Exit(2) from None
    tgt = GnmiTarget(
        name=device or host, host=host, port=port, credentials=c, profile=profile, timeout=timeout
    )
    try:
        return asyncio.run(snapshot(tgt, groups.split(","), timeout=max(timeout, 5.0)))
    except (GnmiError, ProfileError) as exc:
        typer.echo(f"poll: {exc}", err=True)
        raise typer.Exit(2) from None


def _print(frame: object, as_json: bool) -> None:
    for row in frame.iter_rows(named=True):  # type: ignore[attr-defined]
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
    shard: str = typer.Option(
        None, "--shard", help="i/N: poll only shard i of N of the inventory (default: the config's shard)"
    ),
) -> None:
    """Run the collector daemon: poll every configured device on its group schedules."""
    from collector.api import ConfigError, load_config, run_from_config
    from linkmargin.shards import ShardError, parse_shard

    try:
        spec = parse_shard(shard) if shard is not None else None
    except ShardError as exc:
        typer.echo(f"collect: --shard: {exc}", err=True)
        typer.echo(
            "give --shard i/N with 1 <= i <= N, e.g. --shard 1/2 and --shard 2/2 for two collectors", err=True
        )
        raise typer.Exit(2) from None

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
    asyncio.run(run_from_config(config, transport=transport, shard=spec))
