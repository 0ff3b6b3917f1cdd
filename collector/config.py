"""The collector's YAML config (configs/collector.example.yaml) -> a running :class:`Collector`.

The file is checked before anything starts, like the inventory (:mod:`linkmargin.yamlcheck`): every
problem at once, as ``FILE:LINE:COL: path.to.field: message`` — unknown keys with a did-you-mean,
wrong types with the value given, devices naming undefined credentials or profiles, and secret
references (``*_env``, ``*_file``) whose variable is unset or whose file cannot be read. Secrets are
references only; their content is read when a session opens and never appears in a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import signal
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from collector.daemon import Collector
from collector.profile import profile_names
from collector.scheduler import DEFAULT_INTERVALS
from collector.sinks.bus import MqttPublisher
from collector.transport import Credentials, Target
from linkmargin.bus import InProcessBus, Publisher
from linkmargin.mqtt import MqttConfigError, MqttSettings
from linkmargin.yamlcheck import (
    FileIssues,
    Loc,
    Problem,
    did_you_mean,
    issues_at,
    plain,
    pydantic_problems,
    read_yaml,
)

__all__ = [
    "BusConf",
    "CollectorConfig",
    "ConfigError",
    "CredentialsConf",
    "DeviceConf",
    "load_config",
    "run_config",
    "targets_from",
    "validate_config",
]

# What the transports implement, read off the transport's own Credentials so the two cannot drift.
_HINTS = typing.get_type_hints(Credentials)
AUTH_PROTOCOLS: tuple[str, ...] = typing.get_args(_HINTS["auth"])
PRIV_PROTOCOLS: tuple[str, ...] = typing.get_args(_HINTS["priv"])
Port = Annotated[int, Field(ge=1, le=65535)]
M = TypeVar("M", bound=BaseModel)


class ConfigError(FileIssues):
    """The collector config has errors; ``errors`` holds all of them, in file order."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _no_inline(v: object, field: str) -> None:
    if v is not None:
        raise ValueError(f"inline secrets are not allowed; use {field}_env or {field}_file")


class CredentialsConf(_Strict):
    """SNMP credentials by reference (v2c community, or v3 authPriv keys) from env vars or files."""

    version: Literal["2c", "3"]
    community_env: str | None = None
    community_file: str | None = None
    user: str | None = None
    auth: str = "sha"
    auth_key_env: str | None = None
    auth_key_file: str | None = None
    priv: str = "aes"
    priv_key_env: str | None = None
    priv_key_file: str | None = None
    # accepted only to be rejected with a clear message (a secret in a config file leaks)
    community: None = None
    auth_key: None = None
    priv_key: None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, v: object) -> object:
        # YAML reads `version: 3` as an int and `version: 2c` as a string
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("community", "auth_key", "priv_key", mode="before")
    @classmethod
    def _reject_inline(cls, v: object, info: Any) -> None:
        _no_inline(v, str(info.field_name))
        return None

    @field_validator("auth")
    @classmethod
    def _auth(cls, v: str) -> str:
        if v not in AUTH_PROTOCOLS:
            raise ValueError(f"auth {v!r} is not supported (one of: {', '.join(AUTH_PROTOCOLS)})")
        return v

    @field_validator("priv")
    @classmethod
    def _priv(cls, v: str) -> str:
        if v not in PRIV_PROTOCOLS:
            raise ValueError(f"priv {v!r} is not supported (one of: {', '.join(PRIV_PROTOCOLS)})")
        return v

    @model_validator(mode="after")
    def _complete(self) -> CredentialsConf:
        if self.version == "2c":
            if not (self.community_env or self.community_file):
                raise ValueError("SNMP v2c needs community_env or community_file")
        else:
            missing = [
                k
                for k, ok in (
                    ("user", self.user),
                    ("auth_key_env or auth_key_file", self.auth_key_env or self.auth_key_file),
                    ("priv_key_env or priv_key_file", self.priv_key_env or self.priv_key_file),
                )
                if not ok
            ]
            if missing:
                # the collector speaks v3 authPriv only: nothing weaker crosses the network
                raise ValueError(f"SNMPv3 (authPriv) needs {', '.join(missing)}")
        return self

    def secret_refs(self) -> list[tuple[str, str]]:
        """The (field, reference) pairs this entry's secrets are read from."""
        fields = [f"{s}_{how}" for s in ("community", "auth_key", "priv_key") for how in ("env", "file")]
        return [(f, v) for f in fields if (v := getattr(self, f)) is not None]

    def to_transport(self) -> Credentials:
        """The transport's credentials (still by reference)."""
        return Credentials(
            version=self.version,
            community_env=self.community_env,
            community_file=self.community_file,
            user=self.user,
            auth=self.auth,  # type: ignore[arg-type]  # checked against AUTH_PROTOCOLS above
            auth_key_env=self.auth_key_env,
            auth_key_file=self.auth_key_file,
            priv=self.priv,  # type: ignore[arg-type]  # checked against PRIV_PROTOCOLS above
            priv_key_env=self.priv_key_env,
            priv_key_file=self.priv_key_file,
        )


class DeviceConf(_Strict):
    """One SNMP agent to poll."""

    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    port: Port = 161
    credentials: str
    profile: str = "auto"
    timeout: float = Field(default=2.0, gt=0, le=60)
    retries: int = Field(default=1, ge=0, le=10)
    max_repetitions: int = Field(default=25, ge=1, le=200)


class IntervalsConf(_Strict):
    """Seconds between polls of each group; 0 turns a group off."""

    dom: float = Field(default=DEFAULT_INTERVALS["dom"], ge=0)
    counters: float = Field(default=DEFAULT_INTERVALS["counters"], ge=0)
    discovery: float = Field(default=DEFAULT_INTERVALS["discovery"], ge=0)


class LimitsConf(_Strict):
    """Concurrency limits."""

    global_: int = Field(default=64, ge=1, alias="global")


class ExporterConf(_Strict):
    """Where the Prometheus exposition is served."""

    listen: str

    @field_validator("listen")
    @classmethod
    def _host_port(cls, v: str) -> str:
        _, sep, port = v.rpartition(":")
        if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"expected HOST:PORT (e.g. 127.0.0.1:9310), got {v!r}")
        return v

    def host_port(self) -> tuple[str, int]:
        """(host, port) to bind; an empty host means 127.0.0.1."""
        host, _, port = self.listen.rpartition(":")
        return host or "127.0.0.1", int(port)


class ParquetConf(_Strict):
    """The Parquet history sink."""

    root: str = Field(min_length=1)
    flush_s: float = Field(default=5.0, gt=0)  # a kill -9 loses at most this much history


class NoBus(_Strict):
    """No bus: samples go to Prometheus and Parquet only."""

    kind: Literal["none"] = "none"


class InProcessBusConf(_Strict):
    """The in-process bus (useful only when something in this process consumes it)."""

    kind: Literal["inprocess"]


class MqttBusConf(_Strict):
    """An MQTT broker, QoS 1, with a bounded disk outbox; password by reference only."""

    kind: Literal["mqtt"]
    host: str = Field(default="127.0.0.1", min_length=1)
    port: Port = 1883
    outbox_dir: str = "outbox"
    max_messages: int = Field(default=100_000, ge=1)
    username: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    tls: bool = False
    ca_file: str | None = None
    password: None = None  # accepted only to be rejected with a clear message

    @field_validator("password", mode="before")
    @classmethod
    def _reject_inline(cls, v: object) -> None:
        _no_inline(v, "password")
        return None

    @model_validator(mode="after")
    def _consistent(self) -> MqttBusConf:
        if self.password_file and self.password_env:
            raise ValueError("give password_file or password_env, not both")
        if (self.password_file or self.password_env) and not self.username:
            raise ValueError("a password needs username (MQTT sends no password without a user name)")
        if self.ca_file and not self.tls:
            # a CA file without TLS is a half-done TLS setup: the password would travel in clear
            raise ValueError("ca_file is set but tls is not: add tls: true")
        return self

    def settings(self) -> MqttSettings:
        """The broker settings shared with the analyzer side."""
        return MqttSettings(
            host=self.host,
            port=self.port,
            username=self.username,
            password_file=self.password_file,
            password_env=self.password_env,
            tls=self.tls,
            ca_file=self.ca_file,
        )


BusConf = NoBus | InProcessBusConf | MqttBusConf
_BUS_KINDS: dict[str, type[BaseModel]] = {"none": NoBus, "inprocess": InProcessBusConf, "mqtt": MqttBusConf}


class CollectorConfig(_Strict):
    """The whole collector config file."""

    transport: Literal["gufo", "pysnmp"] = "gufo"
    intervals: IntervalsConf = IntervalsConf()
    limits: LimitsConf = LimitsConf()
    credentials: dict[str, CredentialsConf] = {}
    devices: list[DeviceConf] = []
    exporter: ExporterConf | None = None
    bus: dict[str, Any] | None = None  # checked by kind in validate_config; see .bus_conf
    parquet: ParquetConf | None = None

    @property
    def bus_conf(self) -> BusConf:
        """The ``bus`` section as its model (validated already by :func:`validate_config`)."""
        raw = self.bus or {"kind": "none"}
        model = _BUS_KINDS[str(raw.get("kind", "none"))]
        conf: BusConf = model.model_validate(raw)  # type: ignore[assignment]
        return conf


def _bus_problems(raw: Any) -> list[Problem]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        return [(("bus",), f"expected a mapping with kind: {' | '.join(_BUS_KINDS)}, got {raw!r}")]
    if "kind" not in raw and raw:
        return [(("bus",), f"missing required key 'kind' ({' | '.join(_BUS_KINDS)})")]
    kind = raw.get("kind", "none")
    model = _BUS_KINDS.get(str(kind))
    if model is None:
        msg = (
            f"unknown bus kind {kind!r}{did_you_mean(str(kind), _BUS_KINDS)}; one of: {', '.join(_BUS_KINDS)}"
        )
        return [(("bus", "kind"), msg)]
    try:
        model.model_validate(raw)
    except ValidationError as err:
        return pydantic_problems(err, ("bus",), model)
    return []


def _secret_problem(field_loc: Loc, field: str, ref: str) -> Problem | None:
    """Why the secret behind one reference cannot be read now, or None. Never reads it into a message."""
    if field.endswith("_env"):
        if ref not in os.environ:
            return field_loc, f"environment variable {ref} is not set"
        return None
    p = Path(ref)
    if not p.is_file():
        what = "is a directory" if p.is_dir() else "does not exist"
        return field_loc, f"secret file {ref} {what}"
    if not os.access(p, os.R_OK):
        return field_loc, f"secret file {ref} is not readable by this user"
    return None


def _piece(model: type[M], data: Any, loc: Loc, out: list[Problem]) -> M | None:
    """Validate one section on its own, so one bad device does not hide the next one's errors."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        out.extend(pydantic_problems(err, loc, model))
        return None


def _credentials_ref(ref: str, defined: list[str], loc: Loc, out: list[Problem]) -> None:
    if ref not in defined:
        names = ", ".join(defined) or "none"
        msg = f"{ref!r} is not defined in credentials{did_you_mean(ref, defined)} (defined: {names})"
        out.append((loc, msg))


def _device_problems(
    raw_devs: list[Any], devices: dict[int, DeviceConf], defined: list[str], out: list[Problem]
) -> set[str]:
    """Duplicate names, undefined credentials, unknown profiles; returns the credentials used.

    A device that failed validation still has its credentials reference checked, so a typo in
    one key does not hide a wrong reference beside it.
    """
    seen: dict[str, int] = {}
    profiles = ["auto", *profile_names()]
    used: set[str] = set()
    for i, raw in enumerate(raw_devs):
        d = devices.get(i)
        if d is None:
            if isinstance(raw, dict) and isinstance(raw.get("credentials"), str):
                _credentials_ref(raw["credentials"], defined, ("devices", i, "credentials"), out)
            continue
        if d.name in seen:
            msg = f"duplicate device name {d.name!r} (also devices[{seen[d.name]}])"
            out.append((("devices", i, "name"), msg))
        seen.setdefault(d.name, i)
        _credentials_ref(d.credentials, defined, ("devices", i, "credentials"), out)
        used.add(d.credentials)
        if d.profile not in profiles:
            hint = did_you_mean(d.profile, profiles)
            msg = f"unknown profile {d.profile!r}{hint}; known: {', '.join(profiles)}"
            out.append((("devices", i, "profile"), msg))
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(d.address).is_unspecified:
                out.append((("devices", i, "address"), f"{d.address} is not an agent's address"))
    return used


def _secrets_problems(
    creds: dict[str, CredentialsConf], used: set[str], bus: BusConf | None, out: list[Problem]
) -> None:
    # only credentials some device uses: an unused entry's missing secret stops nothing
    for name in sorted(used & set(creds)):
        for field, ref in creds[name].secret_refs():
            if (p := _secret_problem(("credentials", name, field), field, ref)) is not None:
                out.append(p)
    if isinstance(bus, MqttBusConf):
        for field in ("password_file", "password_env"):
            ref = getattr(bus, field)
            if ref is not None and (p := _secret_problem(("bus", field), field, ref)) is not None:
                out.append(p)
        if bus.ca_file is not None:
            try:
                bus.settings().tls_context()
            except MqttConfigError as exc:
                out.append((("bus", "ca_file"), str(exc).removeprefix("mqtt ca_file: ")))


def validate_config(doc: Any, check_secrets: bool = True) -> tuple[CollectorConfig | None, list[Problem]]:
    """Validate a config document (plain data); the config (None on any problem) and every problem.

    Sections are validated one by one so that all errors come out at once. ``check_secrets`` also
    checks that each referenced env var is set and each file readable (never their content), for
    the credentials devices use and for the bus password and CA file.
    """
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        return None, [((), "expected a mapping with keys devices, credentials, bus ...")]
    out: list[Problem] = []
    rest = {k: v for k, v in doc.items() if k not in ("credentials", "devices", "bus")}
    _piece(CollectorConfig, rest, (), out)

    raw_creds = doc.get("credentials") or {}
    if not isinstance(raw_creds, dict):
        out.append((("credentials",), "expected a mapping of name -> credentials"))
        raw_creds = {}
    creds: dict[str, CredentialsConf] = {}
    for name, c in raw_creds.items():
        if (got := _piece(CredentialsConf, c, ("credentials", str(name)), out)) is not None:
            creds[str(name)] = got

    raw_devs = doc.get("devices") or []
    if not isinstance(raw_devs, list):
        out.append((("devices",), "expected a list of devices"))
        raw_devs = []
    devices: dict[int, DeviceConf] = {}
    for i, raw in enumerate(raw_devs):
        if (d := _piece(DeviceConf, raw, ("devices", i), out)) is not None:
            devices[i] = d
    # a credentials entry with errors of its own is still "defined": one error, not two
    used = _device_problems(raw_devs, devices, [str(k) for k in raw_creds], out)

    bus_problems = _bus_problems(doc.get("bus"))
    out += bus_problems
    if check_secrets:
        bus = None if bus_problems else CollectorConfig(bus=doc.get("bus")).bus_conf
        _secrets_problems(creds, used, bus, out)
    if out:
        return None, out
    return CollectorConfig.model_validate(doc), out


def load_config(path: str | Path, check_secrets: bool = True) -> CollectorConfig:
    """Load and validate a collector config file; raises :class:`ConfigError` with every problem."""
    name = str(path)
    try:
        root = read_yaml(path)
    except FileIssues as exc:
        raise ConfigError(exc.errors) from None
    cfg, problems = validate_config(plain(root), check_secrets=check_secrets)
    if problems or cfg is None:
        raise ConfigError(issues_at(name, root, problems))
    return cfg


def targets_from(cfg: CollectorConfig) -> tuple[list[Target], dict[str, str]]:
    """Targets and per-device profile names from a validated config."""
    creds = {name: c.to_transport() for name, c in cfg.credentials.items()}
    targets = [
        Target(
            name=d.name,
            host=d.address,
            port=d.port,
            credentials=creds[d.credentials],
            timeout=d.timeout,
            retries=d.retries,
            max_repetitions=d.max_repetitions,
        )
        for d in cfg.devices
    ]
    return targets, {d.name: d.profile for d in cfg.devices}


async def run_config(path: str, transport: str | None = None) -> None:
    """Run the collector described by ``path`` until SIGINT/SIGTERM; raises ConfigError first if invalid.

    ``transport`` (the CLI's option) overrides the file's ``transport`` when given.
    """
    cfg = load_config(path)
    targets, profiles = targets_from(cfg)
    bus = cfg.bus_conf
    publisher: Publisher | None = None
    mqtt: MqttPublisher | None = None
    if isinstance(bus, MqttBusConf):
        mqtt = MqttPublisher(
            bus.host,
            bus.port,
            bus.outbox_dir,
            max_messages=bus.max_messages,
            username=bus.username,
            password_file=bus.password_file,
            password_env=bus.password_env,
            tls=bus.tls,
            ca_file=bus.ca_file,
        )
        publisher = mqtt
    elif isinstance(bus, InProcessBusConf):
        publisher = InProcessBus()
    col = Collector(
        targets,
        publisher=publisher,
        parquet_root=cfg.parquet.root if cfg.parquet else None,
        parquet_flush_s=cfg.parquet.flush_s if cfg.parquet else 300.0,
        intervals=cfg.intervals.model_dump(),
        profiles=profiles,
        transport=transport or cfg.transport,
        global_limit=cfg.limits.global_,
    )
    if cfg.exporter is not None:
        host, port = cfg.exporter.host_port()
        col.serve_metrics(port, host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(col.run(stop))]
    if mqtt is not None:
        tasks.append(asyncio.create_task(mqtt.run(stop)))
    await asyncio.gather(*tasks)
