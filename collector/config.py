"""The collector's YAML config (configs/collector.example.yaml): pydantic models and loading.

The config holds operational settings only — transport, SNMP request settings, poll intervals,
limits, exporter, bus, Parquet history — and points at the inventory (``inventory: FILE``, relative to
the config file), the one place devices and credentials live. Loading validates both files before
anything starts, like the inventory (:mod:`linkmargin.yamlcheck`): every problem at once, as
``FILE:LINE:COL: path.to.field: message`` in the file it is in — unknown keys with a did-you-mean,
wrong types with the value given, unknown profiles, and secret references (``*_env``, ``*_file``) whose
variable is unset or whose file cannot be read. Secrets are references only; their content is read
when a session opens and never appears in a message.

Deprecated for one release: ``devices:`` and ``credentials:`` inside the collector config (the form
before ``inventory:``). It still loads, with a one-line warning logged once per file.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ByteSize,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from collector.gnmi.client import GnmiTarget
from collector.gnmi.profile import gnmi_profile_names
from collector.profile import profile_names
from collector.scheduler import DEFAULT_INTERVALS
from collector.transport import Target
from linkmargin.credentials import GnmiCredentials, SnmpCredentials, secret_ref_problem
from linkmargin.inventory.models import Device
from linkmargin.inventory.validate import DEVICE_NAME_RULE, validate_document
from linkmargin.mqtt import MqttConfigError, MqttSettings
from linkmargin.shards import Shard, ShardError, parse_shard
from linkmargin.topics import topic_safe
from linkmargin.yamlcheck import (
    FileIssue,
    FileIssues,
    Loc,
    Problem,
    did_you_mean,
    issues_at,
    locate,
    plain,
    pydantic_problems,
    read_yaml,
)

__all__ = [
    "GNMI_AUTO_PROFILE",
    "BusConf",
    "CollectorConfig",
    "ConfigError",
    "DeviceConf",
    "Fleet",
    "InProcessBusConf",
    "MqttBusConf",
    "SnmpConf",
    "gnmi_targets_for",
    "gnmi_targets_from",
    "load_config",
    "targets_for",
    "targets_from",
    "validate_config",
]

log = logging.getLogger(__name__)
Port = Annotated[int, Field(ge=1, le=65535)]
M = TypeVar("M", bound=BaseModel)
DEPRECATED_INLINE = (
    "devices and credentials in the collector config are deprecated: move them to the inventory and "
    "set inventory: FILE (this form is removed in the next release)"
)
GNMI_AUTO_PROFILE = "openconfig"  # a gNMI device's profile when the inventory says auto
_warned: set[str] = set()  # files whose deprecation was logged (once per file and process)


class ConfigError(FileIssues):
    """The collector config (or the inventory it names) has errors; ``errors`` holds all of them."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _no_inline(v: object, field: str) -> None:
    if v is not None:
        raise ValueError(f"inline secrets are not allowed; use {field}_env or {field}_file")


class SnmpRequestConf(_Strict):
    """SNMP request settings of one device; unset values come from the ``snmp`` section."""

    timeout: float | None = Field(default=None, gt=0, le=60)
    retries: int | None = Field(default=None, ge=0, le=10)
    max_repetitions: int | None = Field(default=None, ge=1, le=200)


class SnmpConf(_Strict):
    """SNMP request settings for every device, and per device name where one needs others."""

    timeout: float = Field(default=2.0, gt=0, le=60)
    retries: int = Field(default=1, ge=0, le=10)
    max_repetitions: int = Field(default=25, ge=1, le=200)
    per_device: dict[str, SnmpRequestConf] = {}

    def for_device(self, name: str) -> tuple[float, int, int]:
        """(timeout, retries, max_repetitions) for the device called ``name``."""
        o = self.per_device.get(name, SnmpRequestConf())
        return (
            self.timeout if o.timeout is None else o.timeout,
            self.retries if o.retries is None else o.retries,
            self.max_repetitions if o.max_repetitions is None else o.max_repetitions,
        )


class DeviceConf(_Strict):
    """Deprecated: one SNMP agent listed in the collector config (devices now live in the inventory)."""

    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    port: Port = 161
    credentials: str
    profile: str = "auto"
    timeout: float | None = Field(default=None, gt=0, le=60)
    retries: int | None = Field(default=None, ge=0, le=10)
    max_repetitions: int | None = Field(default=None, ge=1, le=200)

    @field_validator("name")
    @classmethod
    def _topic_level(cls, v: str) -> str:
        if not topic_safe(v):
            raise ValueError(DEVICE_NAME_RULE)
        return v

    def device(self) -> Device:
        """The inventory's view of this device."""
        return Device(
            name=self.name,
            address=self.address,
            port=self.port,
            credentials=self.credentials,
            profile=self.profile,
        )

    def request(self) -> SnmpRequestConf:
        """This device's SNMP request settings (unset ones from the ``snmp`` section)."""
        return SnmpRequestConf(
            timeout=self.timeout, retries=self.retries, max_repetitions=self.max_repetitions
        )


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
    max_bytes: ByteSize = Field(default=ByteSize(1 << 30), ge=4096)  # 1073741824 or "1GiB", "512MB"
    username: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    tls: bool = False
    ca_file: str | None = None
    protocol: Literal["5", "3.1.1"] = "5"  # 3.1.1 for NATS's MQTT listener (linkmargin.mqtt)

    @field_validator("protocol", mode="before")
    @classmethod
    def _protocol_text(cls, v: object) -> object:
        return str(v) if isinstance(v, int | float) else v  # YAML reads `protocol: 5` as a number

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
            protocol=self.protocol,
        )


BusConf = NoBus | InProcessBusConf | MqttBusConf
_BUS_KINDS: dict[str, type[BaseModel]] = {"none": NoBus, "inprocess": InProcessBusConf, "mqtt": MqttBusConf}


@dataclass(frozen=True)
class Fleet:
    """What the collector polls: devices and their credentials, from the inventory (or the deprecated
    inline form), and the file they came from."""

    devices: tuple[Device, ...]
    credentials: Mapping[str, SnmpCredentials]
    source: str
    gnmi_credentials: Mapping[str, GnmiCredentials] = field(default_factory=dict)


class CollectorConfig(_Strict):
    """The whole collector config file; after :func:`load_config`, ``fleet`` holds the devices."""

    transport: Literal["gufo", "pysnmp"] = "gufo"
    inventory: str | None = Field(default=None, min_length=1)
    snmp: SnmpConf = SnmpConf()
    intervals: IntervalsConf = IntervalsConf()
    limits: LimitsConf = LimitsConf()
    exporter: ExporterConf | None = None
    bus: dict[str, Any] | None = None  # checked by kind in validate_config; see .bus_conf
    parquet: ParquetConf | None = None
    shard: str | None = None  # "i/N": poll only this collector's share of the inventory (linkmargin.shards)
    # deprecated for one release: the devices now live in the inventory
    credentials: dict[str, SnmpCredentials] = {}
    devices: list[DeviceConf] = []
    _fleet: Fleet | None = PrivateAttr(default=None)

    @field_validator("shard")
    @classmethod
    def _shard(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                parse_shard(v)
            except ShardError as exc:
                raise ValueError(str(exc)) from None
        return v

    @property
    def shard_spec(self) -> Shard:
        """This collector's shard (``1/1``, the whole fleet, when unset)."""
        return parse_shard(self.shard) if self.shard else Shard(1, 1)

    @property
    def bus_conf(self) -> BusConf:
        """The ``bus`` section as its model (validated already by :func:`validate_config`)."""
        raw = self.bus or {"kind": "none"}
        model = _BUS_KINDS[str(raw.get("kind", "none"))]
        conf: BusConf = model.model_validate(raw)  # type: ignore[assignment]
        return conf

    @property
    def fleet(self) -> Fleet:
        """The devices to poll with their credentials (set by :func:`load_config`)."""
        if self._fleet is None:
            raise RuntimeError("CollectorConfig.fleet is set by load_config")
        return self._fleet


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


def _inline_device_problems(
    raw_devs: list[Any], devices: dict[int, DeviceConf], defined: list[str], out: list[Problem]
) -> None:
    """Deprecated inline form: duplicate names and undefined credentials (the inventory checks its own).

    A device that failed validation still has its credentials reference checked, so a typo in
    one key does not hide a wrong reference beside it.
    """
    seen: dict[str, int] = {}
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


def fleet_problems(
    devices: Mapping[int, Device],
    creds: Mapping[str, SnmpCredentials],
    check_secrets: bool,
    gnmi_creds: Mapping[str, GnmiCredentials] | None = None,
) -> list[Problem]:
    """What the collector needs of a fleet beyond a valid inventory: known profiles (SNMP or gNMI, by
    the device's transport), agent addresses, and (``check_secrets``) readable secrets and TLS files
    for the credentials some device uses."""
    out: list[Problem] = []
    snmp_profiles = ["auto", *profile_names()]
    gnmi_profiles = ["auto", *gnmi_profile_names()]
    for i, d in devices.items():
        profiles, what = (
            (gnmi_profiles, "gNMI profile") if d.transport == "gnmi" else (snmp_profiles, "profile")
        )
        if d.profile not in profiles:
            hint = did_you_mean(d.profile, profiles)
            msg = f"unknown {what} {d.profile!r}{hint}; known: {', '.join(profiles)}"
            out.append((("devices", i, "profile"), msg))
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(d.address).is_unspecified:
                out.append((("devices", i, "address"), f"{d.address} is not an agent's address"))
    if check_secrets:
        # only credentials some device uses: an unused entry's missing secret stops nothing
        snmp_used = {d.credentials for d in devices.values() if d.transport == "snmp"}
        for name in sorted(snmp_used & set(creds)):
            for key, ref in creds[name].secret_refs():
                if (why := secret_ref_problem(key, ref)) is not None:
                    out.append((("credentials", name, key), why))
        out += gnmi_secret_problems(
            {d.credentials for d in devices.values() if d.transport == "gnmi"}, gnmi_creds or {}
        )
    return out


def gnmi_secret_problems(used: Iterable[str], gnmi_creds: Mapping[str, GnmiCredentials]) -> list[Problem]:
    """Unset password variables and unreadable password, CA, certificate and key files of the gNMI
    credentials named in ``used`` (never a secret's content)."""
    out: list[Problem] = []
    for name in sorted(set(used) & set(gnmi_creds)):
        out += [(("gnmi_credentials", name, k), why) for k, why in gnmi_creds[name].reference_problems()]
    return out


def _dir_problem(path: str) -> str | None:
    """Why the directory ``path`` cannot be created or written (None when it can)."""
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        return f"{path}: {p} is not a directory"
    if not os.access(p, os.W_OK | os.X_OK):
        return f"{path}: {p} is not writable by this user"
    return None


def _bus_secret_problems(bus: BusConf | None) -> list[Problem]:
    out: list[Problem] = []
    if isinstance(bus, MqttBusConf):
        if (why := _dir_problem(bus.outbox_dir)) is not None:
            out.append((("bus", "outbox_dir"), why))
        for field in ("password_file", "password_env"):
            ref = getattr(bus, field)
            if ref is not None and (msg := secret_ref_problem(field, ref)) is not None:
                out.append((("bus", field), msg))
        if bus.ca_file is not None:
            try:
                bus.settings().tls_context()
            except MqttConfigError as exc:
                out.append((("bus", "ca_file"), str(exc).removeprefix("mqtt ca_file: ")))
    return out


EMPTY_SECTION = {
    "inventory": "expected the inventory file's path",
    "credentials": "expected a mapping of name -> credentials",
    "devices": "expected a list of devices",
}


def validate_config(doc: Any, check_secrets: bool = True) -> tuple[CollectorConfig | None, list[Problem]]:
    """Validate a config document (plain data); the config (None on any problem) and every problem.

    Sections are validated one by one so that all errors come out at once. ``check_secrets`` also
    checks that each referenced env var is set and each file readable (never their content), for
    the bus password and CA file and, in the deprecated inline form, the credentials devices use.
    The inventory the config names is checked by :func:`load_config`.
    """
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        return None, [((), "expected a mapping with keys inventory, intervals, bus ...")]
    out: list[Problem] = []
    for key, want in EMPTY_SECTION.items():  # `credentials:` with nothing under it, or `devices: null`
        if key in doc and doc[key] is None:
            out.append(((key,), f"empty: {want}, or remove the key"))
    if out:
        return None, out
    rest = {k: v for k, v in doc.items() if k not in ("credentials", "devices", "bus")}
    _piece(CollectorConfig, rest, (), out)
    inline = "devices" in doc or "credentials" in doc
    if inline and "inventory" in doc:
        key = "devices" if "devices" in doc else "credentials"
        out.append(((key,), "devices and credentials live in the inventory: remove this section"))
    elif not inline and "inventory" not in doc:
        out.append(((), "missing required key 'inventory' (the inventory file listing the devices to poll)"))

    raw_creds = doc.get("credentials") or {}
    if not isinstance(raw_creds, dict):
        out.append((("credentials",), "expected a mapping of name -> credentials"))
        raw_creds = {}
    creds: dict[str, SnmpCredentials] = {}
    for name, c in raw_creds.items():
        if (got := _piece(SnmpCredentials, c, ("credentials", str(name)), out)) is not None:
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
    _inline_device_problems(raw_devs, devices, [str(k) for k in raw_creds], out)
    out += fleet_problems({i: d.device() for i, d in devices.items()}, creds, check_secrets)

    bus_problems = _bus_problems(doc.get("bus"))
    out += bus_problems
    if check_secrets and not bus_problems:
        out += _bus_secret_problems(CollectorConfig(bus=doc.get("bus")).bus_conf)
    if out:
        return None, out
    cfg = CollectorConfig.model_validate(doc)
    if inline:
        per_device = {d.name: d.request() for d in cfg.devices}
        cfg = cfg.model_copy(update={"snmp": cfg.snmp.model_copy(update={"per_device": per_device})})
    return cfg, out


def _inventory_issues(
    cfg: CollectorConfig, path: Path, check_secrets: bool
) -> tuple[Fleet | None, list[Problem], list[FileIssue]]:
    """The inventory ``cfg.inventory`` names: its fleet, problems in the config, issues in the inventory."""
    assert cfg.inventory is not None
    inv_path = path.parent / cfg.inventory
    if inv_path.suffix.lower() == ".csv":
        return None, [(("inventory",), "devices live in the YAML inventory: name that file, not a CSV")], []
    if not inv_path.is_file():
        return None, [(("inventory",), f"inventory file {inv_path} does not exist")], []
    try:
        root = read_yaml(inv_path)
    except FileIssues as exc:
        return None, [], exc.errors
    inv, problems = validate_document(plain(root))
    here: list[Problem] = []
    if inv is not None:
        problems += fleet_problems(
            dict(enumerate(inv.devices)), inv.credentials, check_secrets, inv.gnmi_credentials
        )
        names = [d.name for d in inv.devices]
        for name in cfg.snmp.per_device:
            if name not in names:
                msg = f"no device {name!r} in {cfg.inventory}{did_you_mean(name, names)}"
                here.append((("snmp", "per_device", name), msg))
    issues = issues_at(str(inv_path), root, problems)
    if inv is None or problems:
        return None, here, issues
    fleet = Fleet(tuple(inv.devices), dict(inv.credentials), str(inv_path), dict(inv.gnmi_credentials))
    return fleet, here, issues


def load_config(path: str | Path, check_secrets: bool = True) -> CollectorConfig:
    """Load and validate a collector config file and the inventory it names.

    Raises :class:`ConfigError` with every problem of both files. The deprecated inline form
    (``devices:`` in the config) loads too, its warning logged once per file.
    """
    name = str(path)
    try:
        root = read_yaml(path)
    except FileIssues as exc:
        raise ConfigError(exc.errors) from None
    cfg, problems = validate_config(plain(root), check_secrets=check_secrets)
    if problems or cfg is None:
        raise ConfigError(issues_at(name, root, problems))
    if cfg.inventory is None:
        fleet = Fleet(tuple(d.device() for d in cfg.devices), dict(cfg.credentials), name)
        if name not in _warned:
            _warned.add(name)
            line, col = locate(root, ("devices",) if cfg.devices else ("credentials",), on_key=True)
            log.warning("%s:%d:%d: %s", name, line, col, DEPRECATED_INLINE)
    else:
        got, here, elsewhere = _inventory_issues(cfg, Path(path), check_secrets)
        if got is None or here or elsewhere:
            raise ConfigError(issues_at(name, root, here) + elsewhere)
        fleet = got
    cfg._fleet = fleet
    return cfg


def targets_for(
    devices: Iterable[Device], credentials: Mapping[str, SnmpCredentials], snmp: SnmpConf
) -> tuple[list[Target], dict[str, str]]:
    """One SNMP target per SNMP device (secrets stay references until a transport reads them), and each
    one's profile name; gNMI devices are :func:`gnmi_targets_for`'s."""
    targets, profiles = [], {}
    for d in devices:
        if d.transport != "snmp":
            continue
        timeout, retries, max_repetitions = snmp.for_device(d.name)
        targets.append(
            Target(
                name=d.name,
                host=d.address,
                port=d.port,
                credentials=credentials[d.credentials],
                timeout=timeout,
                retries=retries,
                max_repetitions=max_repetitions,
            )
        )
        profiles[d.name] = d.profile
    return targets, profiles


def targets_from(cfg: CollectorConfig) -> tuple[list[Target], dict[str, str]]:
    """SNMP targets and per-device profile names from a loaded config."""
    return targets_for(cfg.fleet.devices, cfg.fleet.credentials, cfg.snmp)


def gnmi_targets_for(
    devices: Iterable[Device], credentials: Mapping[str, GnmiCredentials], timeout: float = 5.0
) -> list[GnmiTarget]:
    """One gNMI target per ``transport: gnmi`` device (its password stays a reference until a channel
    opens); profile ``auto`` is the OpenConfig profile."""
    return [
        GnmiTarget(
            name=d.name,
            host=d.address,
            port=d.port,
            credentials=credentials[d.credentials],
            profile=GNMI_AUTO_PROFILE if d.profile == "auto" else d.profile,
            timeout=timeout,
        )
        for d in devices
        if d.transport == "gnmi"
    ]


def gnmi_targets_from(cfg: CollectorConfig) -> list[GnmiTarget]:
    """The gNMI targets of a loaded config's fleet."""
    return gnmi_targets_for(cfg.fleet.devices, cfg.fleet.gnmi_credentials)
