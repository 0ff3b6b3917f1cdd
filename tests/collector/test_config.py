"""The collector config is checked before anything starts: every problem as FILE:LINE:COL: field:
message (unknown keys with a did-you-mean, wrong types, undefined credentials, unreadable secrets),
and ``linkmargin collect --config`` prints them and exits 2 without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from collector.config import ConfigError, MqttBusConf, load_config, targets_from

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
    example = REPO / "configs" / "collector.example.yaml"
    cfg = load_config(example, check_secrets=False)
    assert [d.name for d in cfg.devices] == ["spine01", "leaf07"]
    monkeypatch.delenv("LINKMARGIN_COMMUNITY", raising=False)
    got = errors(example)  # on this machine the example's secrets are absent: each is named
    assert any(
        e.endswith(
            "credentials.fabric-ro.community_env: environment variable LINKMARGIN_COMMUNITY is not set"
        )
        for e in got
    ), got
    assert any(
        "credentials.fabric-v3.auth_key_file: secret file /run/secrets/auth does not exist" in e for e in got
    )


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
        "arista, cisco, entity-sensor, etherlike, if-mib, juniper, mau-fec, sonic",
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
