"""gNMI devices in the inventory: ``transport: gnmi`` with ``gnmi_credentials`` by reference, validated
with FILE:LINE:COL and did-you-mean; CSV links over such devices; what `inventory check|show`, the
collector config and `run` make of them (exit 2 on a password variable that is not set)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from collector.config import ConfigError, gnmi_targets_from, load_config, targets_from
from linkmargin.inventory import InventoryError, load_inventory

INV = """\
site: t
credentials:
  ro: {version: 2c, community_env: C}
gnmi_credentials:
  noc: {ca_file: ca.pem, username: noc, password_env: LM_T_GNMI_PW}
devices:
  - {name: s1, address: 127.0.0.1, credentials: ro}
  - {name: l1, address: 127.0.0.1, transport: gnmi, credentials: noc}
  - {name: l2, address: 127.0.0.1, port: 50051, transport: gnmi, credentials: noc, profile: sonic-native}
links:
  - id: s1-l1
    a: {device: s1, port: E1}
    b: {device: l1, port: E49}
    optic: 400GBASE-SR8
    fiber: {type: OM4, length_m: 62}
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # ca_file: ca.pem is relative to where the command runs


def write(tmp: Path, text: str, name: str = "inv.yaml") -> Path:
    (tmp / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    p = tmp / name
    p.write_text(text)
    return p


def errors(path: Path) -> list[str]:
    with pytest.raises(InventoryError) as ei:
        load_inventory(path)
    return [str(e).removeprefix(f"{path.parent}/") for e in ei.value.errors]


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_transport_ports_and_credentials(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, INV))
    s1, l1, l2 = inv.devices
    assert (s1.transport, s1.port) == ("snmp", 161)
    assert (l1.transport, l1.port) == ("gnmi", 9339)  # gNMI's IANA port when none is given
    assert l2.port == 50051
    c = inv.credentials_of(l1)
    assert c.username == "noc" and c.password_env == "LM_T_GNMI_PW" and c.tls


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "transport: gnmi, credentials: noc}\n  - {name: l2",
            "transport: gmni, credentials: noc}\n  - {name: l2",
            "inv.yaml:8:47: devices[1].transport: unknown transport 'gmni' (did you mean 'gnmi'?); "
            "one of: snmp, gnmi",
        ),
        (
            "- {name: l1, address: 127.0.0.1, transport: gnmi, credentials: noc}",
            "- {name: l1, address: 127.0.0.1, transport: gnmi, credentials: nco}",
            "inv.yaml:8:66: devices[1].credentials: unknown gnmi_credentials entry 'nco' "
            "(did you mean 'noc'?)",
        ),
        (
            "- {name: l1, address: 127.0.0.1, transport: gnmi, credentials: noc}",
            "- {name: l1, address: 127.0.0.1, transport: gnmi, credentials: ro}",
            "inv.yaml:8:66: devices[1].credentials: 'ro' are SNMP credentials but the device's transport "
            "is gnmi; name an entry of gnmi_credentials (defined: noc)",
        ),
        (
            "- {name: s1, address: 127.0.0.1, credentials: ro}",
            "- {name: s1, address: 127.0.0.1, credentials: noc}",
            "inv.yaml:7:49: devices[0].credentials: 'noc' are gNMI credentials but the device's transport "
            "is snmp; name an entry of credentials (defined: ro)",
        ),
        (
            "password_env: LM_T_GNMI_PW}",
            "password: hunter2}",
            "inv.yaml:5:51: gnmi_credentials.noc.password: inline secrets are not allowed; "
            "use password_env or password_file",
        ),
        (
            "gnmi_credentials:",
            "gnmi_credential:",
            "inv.yaml:4:1: gnmi_credential: unknown key 'gnmi_credential' (did you mean 'gnmi_credentials'?)",
        ),
    ],
)
def test_errors_have_positions(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in INV
    got = errors(write(tmp_path, INV.replace(old, new)))
    assert got[0] == expected
    # one error for one mistake (a misspelt section leaves its devices' references undefined too)
    assert len(got) == 1 or old == "gnmi_credentials:"
    assert "hunter2" not in "\n".join(got)


def test_csv_links_over_gnmi_devices(tmp_path: Path) -> None:
    base = write(tmp_path, INV)
    csv = tmp_path / "links.csv"
    csv.write_text(
        "link_id,a_device,a_port,b_device,b_port,optic,fiber_type,length_m\n"
        "s1-l2,s1,E2,l2,E49,400GBASE-SR8,OM4,30\n"
    )
    inv = load_inventory(csv, devices_from=base)
    assert inv.device("l2").transport == "gnmi" and inv.gnmi_credentials["noc"].username == "noc"


def test_collector_config_streams_gnmi_devices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inv = write(tmp_path, INV)
    cfg = tmp_path / "collector.yaml"
    cfg.write_text(f"inventory: {inv.name}\n")
    monkeypatch.setenv("C", "public")
    with pytest.raises(ConfigError) as ei:  # the password variable is unset: its position, no value
        load_config(cfg)
    assert [str(e) for e in ei.value.errors] == [
        f"{inv}:5:55: gnmi_credentials.noc.password_env: environment variable LM_T_GNMI_PW is not set"
    ]
    monkeypatch.setenv("LM_T_GNMI_PW", "s3cret")
    loaded = load_config(cfg)
    snmp, _ = targets_from(loaded)
    assert [t.name for t in snmp] == ["s1"]
    gnmi = gnmi_targets_from(loaded)
    assert [(t.name, t.port, t.profile) for t in gnmi] == [
        ("l1", 9339, "openconfig"),
        ("l2", 50051, "sonic-native"),
    ]
    (tmp_path / "ca.pem").unlink()
    bad_profile = write(tmp_path, INV.replace("profile: sonic-native", "profile: sonic-nativ"))
    cfg.write_text(f"inventory: {bad_profile.name}\n")
    with pytest.raises(ConfigError) as ei:
        load_config(cfg)
    assert any(
        "devices[2].profile: unknown gNMI profile 'sonic-nativ' (did you mean 'sonic-native'?)" in str(e)
        for e in ei.value.errors
    ), ei.value.errors


def test_check_and_show_name_the_transport(tmp_path: Path) -> None:
    write(tmp_path, INV)
    r = cli("inventory", "check", "inv.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "inv.yaml: ok (3 devices, 1 links, 0 connection points) transport: snmp 1, gnmi 2" in r.stdout
    r = cli("inventory", "show", "inv.yaml", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    devs = {d["device"]: d for d in json.loads(r.stdout)["devices"]}
    assert devs["l1"]["transport"] == "gnmi" and devs["l1"]["endpoint"] == "127.0.0.1:9339"
    assert devs["l1"]["credentials"] == "noc (gnmi tls noc)" and devs["s1"]["transport"] == "snmp"
    r = cli("inventory", "show", "inv.yaml", cwd=tmp_path)
    assert r.returncode == 0 and "gnmi" in r.stdout and "127.0.0.1:50051" in r.stdout


def test_run_refuses_an_unset_password_variable(tmp_path: Path) -> None:
    write(tmp_path, INV)
    env = {"PATH": "/usr/bin:/bin", "C": "public"}
    r = cli("run", "--inventory", "inv.yaml", "--duration", "1", cwd=tmp_path, env=env)
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert lines[0] == "run: gnmi_credentials noc.password_env: environment variable LM_T_GNMI_PW is not set"
    assert len(lines) == 2 and "Traceback" not in r.stderr
