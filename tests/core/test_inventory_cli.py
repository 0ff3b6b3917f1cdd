"""Bad inventories through the real CLI: exact FILE:LINE:COL errors, exit status 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "inventory.example.yaml"

BASE = """\
site: t
credentials:
  ro: {version: 2c, community_env: C}
devices:
  - {name: s1, address: 127.0.0.1, credentials: ro}
  - {name: l1, address: 127.0.0.1, credentials: ro}
links:
  - id: s1-l1
    a: {device: s1, port: E1}
    b: {device: l1, port: E49}
    optic: 400GBASE-SR8
    fiber: {type: OM4, length_m: 62}
    connections:
      - id: p1
        type: MTP-16
        grade: low-loss
        events:
          - {at: 2026-01-10T08:00:00Z, kind: mated}
          - {at: 2026-05-02T13:20:00Z, kind: cleaned}
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


CASES = {
    "typo": (
        BASE.replace("    optic: 400", "    optc: 400"),
        [
            "typo.yaml:8:5: links[0].optic: missing required key 'optic'",
            "typo.yaml:11:5: links[0].optc: unknown key 'optc' (did you mean 'optic'?)",
        ],
    ),
    "unknown_optic": (
        BASE.replace("400GBASE-SR8", "400GBASE-SR9"),
        [
            "unknown_optic.yaml:11:12: links[0].optic: "
            "unknown optic '400GBASE-SR9' (did you mean '400GBASE-SR8'?)"
        ],
    ),
    "reach": (
        BASE.replace("length_m: 62", "length_m: 162"),
        ["reach.yaml:12:34: links[0].fiber.length_m: 162 m is beyond 400GBASE-SR8's reach of 100 m on OM4"],
    ),
    "dup_port": (
        BASE + "  - id: s1-l1b\n    a: {device: s1, port: E2}\n    b: {device: l1, port: E49}\n"
        "    optic: 400GBASE-SR8\n    fiber: {type: OM4, length_m: 10}\n",
        ["dup_port.yaml:22:27: links[1].b.port: l1 E49 is already used by link 's1-l1'"],
    ),
    "order": (
        BASE.replace("2026-05-02T13:20", "2025-05-02T13:20"),
        [
            "order.yaml:19:18: links[0].connections[0].events[1].at: event out of order: "
            "2025-05-02T13:20:00+00:00 is before 2026-01-10T08:00:00+00:00"
        ],
    ),
    "future": (
        BASE.replace("2026-05-02T13:20", "2199-05-02T13:20"),
        [
            "future.yaml:19:18: links[0].connections[0].events[1].at: "
            "event in the future: 2199-05-02T13:20:00+00:00"
        ],
    ),
    "smf_on_mmf": (
        BASE.replace("400GBASE-SR8", "400GBASE-DR4"),
        ["smf_on_mmf.yaml:12:19: links[0].fiber.type: 400GBASE-DR4 is a SMF optic but OM4 is MMF"],
    ),
    "unreadable": (
        "site: t\nlinks:\n  - id: [unclosed\n    optic: x\n",
        ["unreadable.yaml:4:10: (yaml): while parsing a flow sequence: did not find expected ',' or ']'"],
    ),
    "inline_secret": (
        BASE.replace("community_env: C", "community: public"),
        [
            "inline_secret.yaml:3:32: credentials.ro.community: inline secrets are not allowed; "
            "use community_env or community_file"
        ],
    ),
    "credentials_unsupported": (
        BASE.replace(
            "  ro: {version: 2c, community_env: C}\n",
            "  ro: {version: 2c, community_env: C}\n"
            "  v3: {version: 3, user: u, auth: sha1, auth_key_env: A, priv: 3des, priv_key_env: P}\n"
            "  v1: {version: 1, community_env: C}\n"
            "  v3np: {version: 3, user: u, auth: md5, auth_key_env: A}\n",
        ),
        [
            "credentials_unsupported.yaml:4:35: credentials.v3.auth: auth 'sha1' is not supported by the "
            "collector's SNMP transports (write 'sha'); one of: md5, sha, sha224, sha256, sha384, sha512",
            "credentials_unsupported.yaml:4:64: credentials.v3.priv: priv '3des' is not supported by the "
            "collector's SNMP transports (pysnmp has 3DES, gufo_snmp, the default transport, does not); "
            "one of: des, aes, aes192, aes192c, aes256, aes256c",
            "credentials_unsupported.yaml:5:17: credentials.v1.version: SNMPv1 is not supported: the "
            "collector walks tables with GETBULK (2c or 3)",
            "credentials_unsupported.yaml:6:9: credentials.v3np: SNMPv3 (authPriv) needs priv, "
            "priv_key_env or priv_key_file",
        ],
    ),
    "many": (
        BASE.replace("device: l1", "device: l9")
        .replace("type: MTP-16", "type: MTP-13")
        .replace("length_m: 62", "length_m: -4")
        .replace("kind: cleaned", "kind: polished"),
        [
            "many.yaml:10:17: links[0].b.device: unknown device 'l9'; known: l1, s1",
            "many.yaml:12:34: links[0].fiber.length_m: Input should be greater than 0",
            "many.yaml:15:15: links[0].connections[0].type: "
            "unknown connector type 'MTP-13' (did you mean 'MTP-16'?)",
            "many.yaml:19:46: links[0].connections[0].events[1].kind: Input should be 'installed', "
            "'terminated', 'mated', 'unmated', 'cleaned', 'inspected' or 'replaced', got 'polished'",
        ],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_inventory(name: str, tmp_path: Path) -> None:
    text, expected = CASES[name]
    (tmp_path / f"{name}.yaml").write_text(text)
    r = run("inventory", "check", f"{name}.yaml", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stderr.splitlines() == expected


def test_good_and_bad_together(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(BASE)
    (tmp_path / "bad.yaml").write_text(BASE.replace("OM4", "OM7"))
    r = run("inventory", "check", "good.yaml", "bad.yaml", "nope.yaml", cwd=tmp_path)
    assert r.returncode == 2
    assert "good.yaml: ok (2 devices, 1 links, 1 connection points)" in r.stdout
    assert r.stderr.splitlines()[0].startswith(
        "bad.yaml:12:19: links[0].fiber.type: unknown fiber type 'OM7'"
    )
    assert r.stderr.splitlines()[1].startswith("nope.yaml:1:1: (file): cannot read:")


def test_example_checks_and_shows() -> None:
    r = run("inventory", "check", str(EXAMPLE), cwd=ROOT)
    assert r.returncode == 0, r.stderr
    r = run("inventory", "show", str(EXAMPLE), cwd=ROOT)
    assert r.returncode == 0, r.stderr
    # a field-MMC 400G link breaks the connector rule of thumb; the all-MTP trunk does not
    line_mmc = next(ln for ln in r.stdout.splitlines() if "spine02-e1-1--leaf03-e49" in ln)
    line_mtp = next(ln for ln in r.stdout.splitlines() if "spine01-e1-1--leaf01-e49" in ln)
    assert "connectors > 1.0 dB" in line_mmc and "ok" in line_mtp
    # hand value: 0.062 km x 3.5 + 2 x 0.35 = 0.917 dB max, 1.9 - 0.917 = +0.98 headroom
    assert "0.92" in line_mtp and "+0.98" in line_mtp


def test_help_reads() -> None:
    for args in (
        ["--help"],
        ["inventory", "--help"],
        ["inventory", "check", "--help"],
        ["inventory", "show", "--help"],
    ):
        r = run(*args, cwd=ROOT)
        assert r.returncode == 0 and "Usage" in r.stdout


def test_show_flags_points_near_and_past_their_rated_matings(tmp_path: Path) -> None:
    worn = BASE.replace(
        "        events:\n",
        "        matings_before_records: 398\n        events:\n",  # 398 + 1 = 399 of 500: not yet near
    ) + (
        "      - id: p2\n        type: MMC\n        termination: field\n        matings_before_records: 41\n"
        "      - id: p3\n        type: MTP-16\n        grade: low-loss\n        matings_before_records: 520\n"
    )
    (tmp_path / "w.yaml").write_text(worn)
    r = run("inventory", "show", "w.yaml", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "p2 mated 41x, near rated 50" in r.stdout  # 41 >= 0.8 x 50
    assert "p3 mated 520x, past rated 500" in r.stdout
    assert "p1 mated" not in r.stdout
