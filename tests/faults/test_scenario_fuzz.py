"""Lab scenarios are checked like the inventory: unknown keys with a did-you-mean, wrong types and
values out of range all at once as FILE:LINE:COL, exit 2 from every command that takes
``--scenario``; and no YAML document, nor any mutation of a valid scenario, makes the loader raise
anything but its own :class:`ScenarioError`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.scenario import SCENARIO_DIR, ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[2]

BAD = """\
name: bad
duraton: 2h
step_s: 0
seed: -3
fabric:
  spines: two
  optics: {400GBASE-DR44: 1.0}
random_faults: {bent_fiber: -1}
events:
  - {at: 1h, kind: contaminat, link: 0}
"""


def _errors(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    return [str(e) for e in exc.value.errors]


def test_every_problem_at_once_with_its_position(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(BAD)
    assert _errors(f) == [
        f"{f}:2:1: duraton: unknown key 'duraton' (did you mean 'duration'?)",
        f"{f}:3:9: step_s: Input should be greater than or equal to 1, got 0",
        f"{f}:4:7: seed: Input should be greater than or equal to 0, got -3",
        f"{f}:6:11: fabric.spines: Input should be a valid integer, unable to parse string as an integer, "
        "got 'two'",
        f"{f}:7:11: fabric.optics: unknown optic '400GBASE-DR44' (did you mean '400GBASE-DR4'?)",
        f"{f}:8:29: random_faults.bent_fiber: Input should be greater than or equal to 0, got -1",
        f"{f}:10:20: events[0].kind: Input should be 'contaminate', 'bend', 'failing_laser', 'reboot', "
        "'mate', 'clean', 'reterminate' or 'maintenance', got 'contaminat'",
    ]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("duration: 0h\n", "1:11: duration: must be more than 0"),
        ("duration: 2x\n", "1:11: duration: '2x': expected a time"),
        ("duration: 5000d\n", "1:11: duration: must be more than 0 and at most 366d"),
        ("duration: 300d\nstep_s: 1\n", "2:9: step_s: duration / step_s is 25,920,000 steps"),
        ("step_s: .nan\n", "1:9: step_s: Input should be a finite number"),
        (
            "duration: 1h\nevents:\n  - {at: 3h, kind: bend, link: 0}\n",
            "3:10: events[0].at: 10800 s is outside",
        ),
        ("events:\n  - {at: 1h, kind: reboot, device: leaf9}\n", "events[0].device: no device 'leaf9'"),
        ("events:\n  - {at: 1h, kind: bend, link: 999}\n", "events[0].link: link 999 is not in the fabric"),
        (
            "events:\n  - {at: 1h, kind: bend, link: 0, lanes: [0, 9]}\n",
            "events[0].lanes[0]: Input should be",
        ),
        ("fabric: {length_m: [90, 10]}\n", "fabric: length_m: the shortest (90) is longer"),
        ("fabric: {chains: [{share: 1, points: [{type: MTP16}]}]}\n", "unknown connector type 'MTP16'"),
        ("- a\n", "1:1: (root): a scenario is a mapping, got a list"),
        ("", "1:1: (root): a scenario is a mapping, got an empty file"),
    ],
)
def test_types_and_ranges(tmp_path: Path, text: str, want: str) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(text)
    errors = _errors(f)
    assert any(want in e for e in errors), errors
    assert all(e.startswith(f"{f}:") for e in errors)


@pytest.mark.parametrize(
    "command",
    [
        ["lab", "serve"],
        ["lab", "snapshot"],
        ["lab", "truth"],
        ["demo", "--duration", "1"],
        ["backtest"],
    ],
)
def test_every_command_taking_a_scenario_exits_2_without_traceback(
    tmp_path: Path, command: list[str]
) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(BAD)
    p = subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", *command, "--scenario", str(f)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 7 and all(line.startswith(f"{f}:") for line in lines), lines


# --- fuzzing: no exception but ScenarioError escapes ----------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "1h",
            "2d",
            "0s",
            "-1h",
            "1w",
            "2026-11-01T00:00:00Z",
            "1e999",
            ".inf",
            "demo",
            "99999999999999w",
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
        ]
    ),
)
KEYS = [
    "name", "seed", "start", "duration", "step_s", "truth_step_s", "community", "v3_user", "fabric",
    "background", "random_faults", "events", "spines", "leaves", "uplinks_per_leaf", "optics", "layouts",
    "length_m", "chains", "share", "points", "type", "at", "kind", "link", "lanes", "device", "inventory",
]  # fmt: skip
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=5),
    ),
    max_leaves=25,
)


def _load_only_scenario_error(path: Path) -> None:
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert exc.errors and all(str(e).startswith(f"{path}:") for e in exc.errors)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(doc=documents)
def test_arbitrary_yaml_documents(tmp_path: Path, doc: Any) -> None:
    f = tmp_path / "fuzz.yaml"
    f.write_text(yaml.safe_dump(doc))
    _load_only_scenario_error(f)


@FUZZ
@given(text=st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#,? \n\t0123456789.~")), max_size=80))
def test_arbitrary_text(tmp_path: Path, text: str) -> None:
    f = tmp_path / "fuzz.yaml"
    f.write_text(text)
    _load_only_scenario_error(f)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


VALID = {p.stem: yaml.safe_load(p.read_text()) for p in sorted(SCENARIO_DIR.glob("*.yaml"))}


@FUZZ
@given(
    data=st.data(), which=st.sampled_from(sorted(VALID)), how=st.sampled_from(["replace", "rename", "drop"])
)
def test_mutated_valid_scenarios(tmp_path: Path, data: st.DataObject, which: str, how: str) -> None:
    import copy

    doc = copy.deepcopy(VALID[which])
    doc["duration"] = "6h"  # keep the fleet small enough to load quickly, whatever else changes
    path = data.draw(st.sampled_from(_paths(doc)[1:]))
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
    _load_only_scenario_error(f)
