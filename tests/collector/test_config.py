"""The collector config is checked before anything starts: every problem as FILE:LINE:COL: field:
message (unknown keys with a did-you-mean, wrong types, undefined credentials, unreadable secrets),
in the config or in the inventory it points at, and ``linkmargin collect --config`` prints them and
exits 2 without a traceback. GOOD is the deprecated inline form (devices in the config), which keeps
working for one release."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from collector.config import DEPRECATED_INLINE, ConfigError, MqttBusConf, load_config, targets_from

REPO = Path(__file__).resolve().parents[2]
SECRET = "Vv9-community-not-in-messages"


def write(tmp: Path, text: str, name: str = "c.yaml") -> Path:
    p = tmp / name
    p.write_text(text.lstrip("\n"))
    return p


def errors(path: Path, check_secrets: bool = True) -> list[str]:
    with pytest.raises(ConfigError) as ei:
        load_config(path, check_secrets=check_secrets)
    return [str(e) for e in ei.value.errors]


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "secrets"
    d.mkdir()
    for name in ("auth", "priv", "mqtt"):
        (d / name).write_text(SECRET + "\n")
    monkeypatch.setenv("LM_TEST_COMMUNITY", SECRET)
    return d


GOOD = """
transport: pysnmp
intervals: {dom: 30, counters: 5, discovery: 0}
limits: {global: 8}
credentials:
  lab-v2: {version: 2c, community_env: LM_TEST_COMMUNITY}
  lab-v3: {version: 3, user: nocro, auth: sha256, auth_key_file: $S/auth, priv: aes, priv_key_file: $S/priv}
devices:
  - {name: spine01, address: 127.0.0.1, port: 16100, credentials: lab-v3, profile: arista}
  - {name: leaf07, address: 127.0.0.1, credentials: lab-v2, timeout: 1.5, retries: 0, max_repetitions: 40}
exporter: {listen: "127.0.0.1:9310"}
bus:
  kind: mqtt
  host: 127.0.0.1
  port: 8883
  outbox_dir: OUTBOX
  username: collector
  password_file: $S/mqtt
  tls: true
parquet: {root: HIST, flush_s: 60}
"""


def good(tmp: Path, secrets: Path) -> str:
    text = GOOD.replace("$S", str(secrets)).replace("OUTBOX", str(tmp / "outbox"))
    return text.replace("HIST", str(tmp / "hist"))


def test_good_config_gives_targets(tmp_path: Path, secrets: Path) -> None:
    cfg = load_config(write(tmp_path, good(tmp_path, secrets)))
    targets, profiles = targets_from(cfg)
    assert [(t.name, t.port, t.timeout, t.retries, t.max_repetitions) for t in targets] == [
        ("spine01", 16100, 2.0, 1, 25),
        ("leaf07", 161, 1.5, 0, 40),
    ]
    v3 = targets[0].credentials
    assert (v3.version, v3.user, v3.auth, v3.priv) == ("3", "nocro", "sha256", "aes")
    assert profiles == {"spine01": "arista", "leaf07": "auto"}
    assert cfg.transport == "pysnmp" and cfg.limits.global_ == 8
    assert cfg.intervals.model_dump() == {"dom": 30, "counters": 5, "discovery": 0}
    bus = cfg.bus_conf
    assert isinstance(bus, MqttBusConf) and bus.settings().broker == "mqtts://127.0.0.1:8883"
    assert SECRET not in repr(cfg)


def test_example_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example points at the example inventory: its 8 devices, the per-device timeout override."""
    example = REPO / "configs" / "collector.example.yaml"
    cfg = load_config(example, check_secrets=False)
    targets, _ = targets_from(cfg)
    assert [t.name for t in targets][:3] == ["spine01", "spine02", "leaf01"] and len(targets) == 8
    assert [t.timeout for t in targets][:2] == [4.0, 2.0]
    assert cfg.fleet.source == str(REPO / "configs" / "inventory.example.yaml")
    for var in ("LINKMARGIN_COMMUNITY", "LINKMARGIN_AUTH_KEY", "LINKMARGIN_PRIV_KEY"):
        monkeypatch.delenv(var, raising=False)
    got = errors(example)  # on this machine the example's secrets are absent: each is named where it is
    inv = REPO / "configs" / "inventory.example.yaml"
    unset = "environment variable {} is not set"
    assert got == [
        f"{inv}:6:43: credentials.fabric-ro.community_env: " + unset.format("LINKMARGIN_COMMUNITY"),
        f"{inv}:7:65: credentials.fabric-v3.auth_key_env: " + unset.format("LINKMARGIN_AUTH_KEY"),
        f"{inv}:8:40: credentials.fabric-v3.priv_key_env: " + unset.format("LINKMARGIN_PRIV_KEY"),
    ]


def test_readme_collect_command_checks_the_example() -> None:
    """`linkmargin collect --config configs/collector.example.yaml` as the README shows it (--check: no
    daemon), with the inventory's secret variables set: ok, and no deprecation warning."""
    env = dict(
        os.environ, LINKMARGIN_COMMUNITY="c", LINKMARGIN_AUTH_KEY="authkey123", LINKMARGIN_PRIV_KEY="p1234567"
    )
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "linkmargin_cli",
            "collect",
            "--config",
            "configs/collector.example.yaml",
            "--check",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "configs/collector.example.yaml: ok" and r.stderr == ""


INVENTORY = """
site: t
credentials:
  ro: {version: 2c, community_env: LM_TEST_COMMUNITY}
  v3: {version: 3, user: nocro, auth: sha512, auth_key_file: $S/auth, priv: aes256c, priv_key_file: $S/priv}
devices:
  - {name: spine01, address: 127.0.0.1, port: 16100, credentials: v3, profile: arista}
  - {name: leaf07, address: 127.0.0.1, credentials: ro}
"""
NEW = """
inventory: inv/site.yaml
transport: pysnmp
snmp:
  timeout: 1.5
  per_device:
    spine01: {retries: 3, max_repetitions: 40}
bus: {kind: none}
"""


def new_form(tmp: Path, secrets: Path, inventory: str = INVENTORY, config: str = NEW) -> tuple[Path, Path]:
    (tmp / "inv").mkdir(exist_ok=True)
    inv = write(tmp / "inv", inventory.replace("$S", str(secrets)), "site.yaml")
    return write(tmp, config), inv


def test_inventory_form_gives_targets(
    tmp_path: Path, secrets: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Devices and credentials come from the inventory, as written (sha512/aes256c stay sha512/aes256c);
    SNMP request settings from the config, per device where given; no deprecation warning."""
    f, inv = new_form(tmp_path, secrets)
    cfg = load_config(f)
    targets, profiles = targets_from(cfg)
    assert [(t.name, t.port, t.timeout, t.retries, t.max_repetitions) for t in targets] == [
        ("spine01", 16100, 1.5, 3, 40),
        ("leaf07", 161, 1.5, 1, 25),
    ]
    v3 = targets[0].credentials
    assert (v3.version, v3.user, v3.auth, v3.priv) == ("3", "nocro", "sha512", "aes256c")
    assert profiles == {"spine01": "arista", "leaf07": "auto"}
    assert cfg.fleet.source == str(inv) and not caplog.records


def test_inventory_form_problems_in_their_own_file(tmp_path: Path, secrets: Path) -> None:
    """A problem is reported in the file it is in: the inventory's at its position there (an auth the
    transports cannot do, an unknown profile, an unset secret), the config's in the config."""
    inventory = INVENTORY.replace("auth: sha512", "auth: sha1").replace("profile: arista", "profile: aristta")
    config = NEW.replace("spine01: {retries", "spine1: {retries")
    f, inv = new_form(tmp_path, secrets, inventory, config)
    assert errors(f) == [
        f"{inv}:4:39: credentials.v3.auth: auth 'sha1' is not supported by the collector's SNMP transports "
        "(write 'sha'); one of: md5, sha, sha224, sha256, sha384, sha512",
    ]  # profiles, secrets and per_device names are checked once the inventory itself is valid
    f, inv = new_form(tmp_path, secrets, INVENTORY.replace("profile: arista", "profile: aristta"), config)
    (secrets / "priv").unlink()
    got = errors(f)
    assert (
        got[0]
        == f"{f}:6:13: snmp.per_device.spine1: no device 'spine1' in inv/site.yaml (did you mean 'spine01'?)"
    )
    assert got[1].startswith(f"{inv}:4:")  # the column depends on the length of the temporary path
    assert got[1].endswith(f": credentials.v3.priv_key_file: secret file {secrets}/priv does not exist")
    assert got[2].startswith(
        f"{inv}:6:80: devices[0].profile: unknown profile 'aristta' (did you mean 'arista'?)"
    )
    assert errors(write(tmp_path, NEW.replace("inv/site.yaml", "inv/nope.yaml"))) == [
        f"{tmp_path}/c.yaml:1:12: inventory: inventory file {tmp_path}/inv/nope.yaml does not exist"
    ]


def test_devices_in_one_place_only(tmp_path: Path, secrets: Path) -> None:
    both = NEW + "devices:\n  - {name: a, address: 127.0.0.1, credentials: ro}\n"
    f, _ = new_form(tmp_path, secrets, config=both)
    assert (
        errors(f)[0]
        == f"{f}:9:3: devices: devices and credentials live in the inventory: remove this section"
    )
    f = write(tmp_path, "transport: gufo\n")
    assert errors(f) == [
        f"{f}:1:1: (root): missing required key 'inventory' (the inventory file listing the devices to poll)"
    ]


def test_deprecated_form_warns_once(tmp_path: Path, secrets: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The old form (devices and credentials in the config) still loads, with one warning per file."""
    f = write(tmp_path, good(tmp_path, secrets), "old.yaml")
    with caplog.at_level(logging.WARNING, logger="collector.config"):
        load_config(f)
        load_config(f)
    assert [r.getMessage() for r in caplog.records] == [f"{f}:7:1: {DEPRECATED_INLINE}"]
    r = subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", "collect", "--config", str(f), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, LM_TEST_COMMUNITY=SECRET),
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [f"{f}:7:1: {DEPRECATED_INLINE}"]  # once, though the CLI loads twice


def test_typos_are_reported_with_position_all_at_once(tmp_path: Path, secrets: Path) -> None:
    text = good(tmp_path, secrets)
    text = text.replace("intervals: {dom: 30, counters: 5", "intervals: {dom: 30, countres: 5")
    text = text.replace("credentials: lab-v2, timeout", "credentials: lab-v2x, timout")
    text = text.replace("port: 16100", "port: sixteen")
    text = text.replace("  tls: true", "  tsl: true")
    text = text.replace("transport: pysnmp", "transport: pysnmpp")
    f = write(tmp_path, text)
    assert errors(f) == [
        f"{f}:1:12: transport: Input should be 'gufo' or 'pysnmp', got 'pysnmpp'",
        f"{f}:2:22: intervals.countres: unknown key 'countres' (did you mean 'counters'?)",
        f"{f}:8:47: devices[0].port: Input should be a valid integer, unable to parse string as an integer,"
        " got 'sixteen'",
        f"{f}:9:53: devices[1].credentials: 'lab-v2x' is not defined in credentials (did you mean 'lab-v2'?)"
        " (defined: lab-v2, lab-v3)",
        f"{f}:9:62: devices[1].timout: unknown key 'timout' (did you mean 'timeout'?)",
        f"{f}:18:3: bus.tsl: unknown key 'tsl' (did you mean 'tls'?)",
    ]


def test_references_and_secrets(tmp_path: Path, secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = good(tmp_path, secrets)
    text = text.replace("credentials: lab-v3, profile: arista", "credentials: lab-v4, profile: aristta")
    text = text.replace(f"{secrets}/mqtt", f"{secrets}/nope")
    f = write(tmp_path, text)
    (secrets / "priv").unlink()  # lab-v3 is now unused: its missing file is not reported
    monkeypatch.delenv("LM_TEST_COMMUNITY")
    got = errors(f)
    assert got == [
        f"{f}:5:40: credentials.lab-v2.community_env: environment variable LM_TEST_COMMUNITY is not set",
        f"{f}:8:67: devices[0].credentials: 'lab-v4' is not defined in credentials (did you mean 'lab-v3'?)"
        " (defined: lab-v2, lab-v3)",
        f"{f}:8:84: devices[0].profile: unknown profile 'aristta' (did you mean 'arista'?); known: auto, "
        "arista, cisco, cumulus, dell-os10, dell-os9, entity-sensor, etherlike, fs, huawei-ce, huawei-vrp, "
        "if-mib, juniper, mau-fec, ocnos, onyx, sonic",
        f"{f}:17:18: bus.password_file: secret file {secrets}/nope does not exist",
    ]
    assert not any(SECRET in e for e in got)


def test_inline_secrets_and_bus_rules(tmp_path: Path, secrets: Path) -> None:
    text = good(tmp_path, secrets).replace(f"password_file: {secrets}/mqtt", f"password: {SECRET}")
    text = text.replace("community_env: LM_TEST_COMMUNITY", f"community: {SECRET}")
    f = write(tmp_path, text)
    got = errors(f)
    assert got == [
        f"{f}:5:36: credentials.lab-v2.community: inline secrets are not allowed; use community_env or "
        "community_file",
        f"{f}:17:13: bus.password: inline secrets are not allowed; use password_env or password_file",
    ]
    assert all(SECRET not in e for e in got)

    text = good(tmp_path, secrets).replace("  tls: true", f"  ca_file: {secrets}/auth")
    assert errors(write(tmp_path, text)) == [
        f"{tmp_path}/c.yaml:12:3: bus: ca_file is set but tls is not: add tls: true"
    ]
    text = good(tmp_path, secrets).replace("  tls: true", f"  tls: true\n  ca_file: {secrets}/auth")
    (got_ca,) = errors(write(tmp_path, text))
    assert got_ca.startswith(
        f"{tmp_path}/c.yaml:19:12: bus.ca_file: cannot load CA certificates from {secrets}/auth"
    )
    assert SECRET not in got_ca
    text = good(tmp_path, secrets).replace("kind: mqtt", "kind: mqt")
    assert errors(write(tmp_path, text)) == [
        f"{tmp_path}/c.yaml:12:9: bus.kind: unknown bus kind 'mqt' (did you mean 'mqtt'?); one of: none, "
        "inprocess, mqtt"
    ]


def test_yaml_syntax_and_shape(tmp_path: Path) -> None:
    f = write(tmp_path, "devices:\n  - {name: a, address: [1\n")
    (e,) = errors(f)
    assert e.startswith(f"{f}:3:1: (yaml): ")
    f = write(tmp_path, "devices: {name: a}\ncredentials: [x]\n")
    assert errors(f) == [
        f"{f}:1:10: devices: expected a list of devices",
        f"{f}:2:14: credentials: expected a mapping of name -> credentials",
    ]
    f = write(tmp_path, "devices:\n  - {name: a, address: 10.0.0.1}\n")
    assert errors(f) == [f"{f}:2:5: devices[0].credentials: missing required key 'credentials'"]


def test_cli_prints_errors_and_exits_2(tmp_path: Path) -> None:
    f = write(
        tmp_path,
        """
credentials:
  lab-v2: {version: 2c, community_file: /nonexistent/community}
devices:
  - {name: a, address: 127.0.0.1, credentials: lab-v3}
  - {name: b, address: 127.0.0.1, credentials: lab-v2, prot: 16100}
""",
    )
    r = subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", "collect", "--config", str(f)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    assert r.stderr.splitlines() == [
        f"{f}:4:48: devices[0].credentials: 'lab-v3' is not defined in credentials (did you mean 'lab-v2'?)"
        " (defined: lab-v2)",
        f"{f}:5:56: devices[1].prot: unknown key 'prot' (did you mean 'port'?)",
    ]
