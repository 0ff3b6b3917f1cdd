"""Degenerate inventories and collector configs are FILE:LINE:COL errors, never a traceback: empty
files, a list or a scalar at the top, binary garbage, invalid UTF-8, sections with nothing under them;
and no YAML document, nor any mutation of a valid inventory, makes the inventory loader raise
anything but :class:`InventoryError`."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkmargin.inventory import InventoryError, load_inventory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "inventory.example.yaml"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


DEGENERATE: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "1:1: (root): expected a mapping"),
    "list": (b"- a\n- b\n", "1:1: (root): expected a mapping"),
    "scalar": (b"42\n", "1:1: (root): expected a mapping"),
    "binary": (bytes(range(256)) * 4, "2:118: (file): not UTF-8 text (byte 0x80)"),
    "bad_utf8": (b"site: s\nlinks:\n  - id: \xc3\x28\n", "3:9: (file): not UTF-8 text (byte 0xc3)"),
    "nul": (b"site: s\x00\n", "1:8: (yaml): unacceptable character #x0000"),
    "tab_indent": (b"site: s\nlinks:\n\t- id: x\n", "3:1: (yaml): while scanning"),
    "anchor_loop": (b"a: &a [*a]\n", "1:8: (yaml): alias *a names no anchor"),
}


@pytest.mark.parametrize("case", sorted(DEGENERATE))
def test_inventory_check_on_degenerate_files(tmp_path: Path, case: str) -> None:
    content, want = DEGENERATE[case]
    f = tmp_path / "inv.yaml"
    f.write_bytes(content)
    p = _cli("inventory", "check", str(f), cwd=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.startswith(f"{f}:{want}"), p.stderr


CONFIGS = {
    "credentials_empty": (
        "inventory: inv.yaml\ncredentials:\n",
        "2:13: credentials: empty: expected a mapping",
    ),
    "inline_credentials_empty": ("credentials:\n", "1:13: credentials: empty: expected a mapping"),
    "devices_null": ("devices: null\n", "1:10: devices: empty: expected a list of devices"),
    "inventory_empty": ("inventory:\n", "1:11: inventory: empty: expected the inventory file's path"),
    "top_list": ("- inventory: inv.yaml\n", "1:1: (root): expected a mapping with keys inventory"),
    "empty_file": ("", "1:1: (root): missing required key 'inventory'"),
    "sections_null": ("inventory: inv.yaml\nintervals:\nsnmp:\n", "2:11: intervals: Input should be a valid"),
    "credentials_list": (
        "credentials: [a]\n",
        "1:14: credentials: expected a mapping of name -> credentials",
    ),
    "devices_scalar": ("devices: 3\n", "1:10: devices: expected a list of devices"),
}


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_collect_check_on_degenerate_configs(tmp_path: Path, case: str) -> None:
    text, want = CONFIGS[case]
    (tmp_path / "inv.yaml").write_text(EXAMPLE.read_text())
    f = tmp_path / "collector.yaml"
    f.write_text(text)
    p = _cli("collect", "--config", str(f), "--check", cwd=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert f"{f}:{want}" in p.stderr, p.stderr


def test_collect_check_names_the_inventory_file_for_its_errors(tmp_path: Path) -> None:
    (tmp_path / "inv.yaml").write_bytes(b"\xff\xfe")
    f = tmp_path / "collector.yaml"
    f.write_text("inventory: inv.yaml\n")
    p = _cli("collect", "--config", str(f), "--check", cwd=tmp_path)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.startswith(f"{tmp_path / 'inv.yaml'}:1:1: (file): not UTF-8 text"), p.stderr


# --- fuzzing: no exception but InventoryError escapes ---------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.sampled_from(["2026-01-10T08:00:00Z", "2026-01-10", "9999-12-31T23:59:59Z", "MTP-16", "OM4", "2c"]),
)
KEYS = [
    "site", "credentials", "devices", "links", "name", "address", "port", "version", "community_env",
    "id", "a", "b", "device", "optic", "fiber", "type", "length_m", "connections", "grade", "termination",
    "events", "at", "kind", "result", "matings_before_records",
]  # fmt: skip
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=5),
    ),
    max_leaves=30,
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _load_only_inventory_error(path: Path) -> None:
    try:
        load_inventory(path)
    except InventoryError as exc:
        assert exc.errors and all(str(e).startswith(f"{path}:") for e in exc.errors)


@FUZZ
@given(doc=documents)
def test_arbitrary_yaml_documents(tmp_path: Path, doc: Any) -> None:
    f = tmp_path / "fuzz.yaml"
    f.write_text(yaml.safe_dump(doc))
    _load_only_inventory_error(f)


@FUZZ
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes(tmp_path: Path, raw: bytes) -> None:
    f = tmp_path / "fuzz.yaml"
    f.write_bytes(raw)
    _load_only_inventory_error(f)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


VALID = yaml.safe_load(EXAMPLE.read_text())
VALID_PATHS = _paths(VALID)[1:]


@FUZZ
@given(
    path=st.sampled_from(VALID_PATHS),
    how=st.sampled_from(["replace", "rename", "drop"]),
    data=st.data(),
)
def test_mutated_valid_inventory(
    tmp_path: Path, path: tuple[Any, ...], how: str, data: st.DataObject
) -> None:
    doc = copy.deepcopy(VALID)
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "replace":
        parent[last] = data.draw(documents)
    elif how == "rename" and isinstance(parent, dict):
        parent[data.draw(st.text(min_size=1, max_size=8))] = parent.pop(last)
    elif isinstance(parent, dict):
        del parent[last]
    else:
        parent.pop(last)
    f = tmp_path / "mutated.yaml"
    f.write_text(yaml.safe_dump(doc))
    _load_only_inventory_error(f)
