"""Inputs that used to hang or explode, each in a real `linkmargin` process with its time and peak
memory measured: a YAML alias bomb fails fast at its position, an inventory over the size bound is
refused before it is read, and a large but legal inventory loads. The bounds are safety bounds for a
loaded CI machine, not speed claims (those are in bench/yaml_load_bench.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bench.yaml_load_bench import inventory_text
from linkmargin.yamlread import MAX_BYTES, MAX_DEPTH, YamlLimitError, YamlReadError, load_text, positions

ROOT = Path(__file__).resolve().parents[2]
RSS_BOUND_MB = 500.0
TIME_BOUND_S = 60.0

# Measured in a child of a child, so this test process's own memory does not count.
PROBE = textwrap.dedent(
    """
    import resource, subprocess, sys, time
    t = time.monotonic()
    p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    wall = time.monotonic() - t
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    sys.stdout.write(f"{p.returncode} {wall:.3f} {rss_mb:.1f}\\n")
    sys.stdout.write(p.stdout + "\\n---\\n" + p.stderr)
    """
)


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, float, float, str, str]:
    """(exit code, wall seconds, peak RSS in MB, stdout, stderr) of `linkmargin ARGS`."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, sys.executable, "-m", "linkmargin_cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    ).stdout
    head, _, rest = out.partition("\n")
    code, wall, rss = head.split()
    stdout, _, stderr = rest.partition("\n---\n")
    return int(code), float(wall), float(rss), stdout, stderr


def _bomb(levels: int = 9) -> str:
    lines = ['site: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"k{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_fails_fast_at_its_position_in_bounded_memory(tmp_path: Path) -> None:
    f = tmp_path / "bomb.yaml"
    f.write_text(_bomb())  # 9**9 = 387M strings if expanded
    code, wall, rss, _out, err = _run("inventory", "check", str(f))
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1
    # the alias that crosses the bound: the 7th level's first alias (9**7 > 1,000,000)
    assert lines[0].startswith(f"{f}:7:"), lines
    assert "alias bomb" in lines[0]
    assert wall < TIME_BOUND_S and rss < RSS_BOUND_MB, (wall, rss)


def test_inventory_over_the_size_bound_is_refused_before_reading(tmp_path: Path) -> None:
    f = tmp_path / "huge.yaml"
    with f.open("wb") as fh:  # sparse: the size is there, the disk is not used
        fh.truncate(MAX_BYTES + 1)
    code, wall, rss, _out, err = _run("inventory", "check", str(f))
    assert code == 2 and "Traceback" not in err
    want = "file is 64.0 MiB, over the 64 MiB limit (set LINKMARGIN_YAML_MAX_MB to raise it)"
    assert err.strip() == f"{f}:1:1: (file): {want}"
    assert wall < TIME_BOUND_S and rss < RSS_BOUND_MB, (wall, rss)
    # the bound is configurable, for a site whose inventory really is larger
    small = tmp_path / "small.yaml"
    small.write_text("site: s\n" + "# padding\n" * 200_000)
    code, _, _, _, err = _run("inventory", "check", str(small), env={"LINKMARGIN_YAML_MAX_MB": "1"})
    assert code == 2 and "over the 1 MiB limit" in err


def test_large_legal_inventory_loads_in_bounded_time_and_memory(tmp_path: Path) -> None:
    f = tmp_path / "big.yaml"
    f.write_text(inventory_text(10_000))  # about 5 MB: 10k links, 20k connection points
    code, wall, rss, out, err = _run("inventory", "check", str(f))
    assert code == 0, err
    assert "10000 links, 20000 connection points" in out
    assert wall < TIME_BOUND_S and rss < RSS_BOUND_MB, (wall, rss)


def test_an_error_deep_in_a_large_inventory_has_its_position(tmp_path: Path) -> None:
    text = inventory_text(3000)
    broken = text.replace("link-0002500\n    a:", "link-0002500\n    optik: x\n    a:")
    f = tmp_path / "big.yaml"
    f.write_text(broken)
    line = broken[: broken.index("optik: x")].count("\n") + 1
    code, _wall, _rss, _out, err = _run("inventory", "check", str(f))
    assert code == 2
    assert err.strip() == f"{f}:{line}:5: links[2500].optik: unknown key 'optik' (did you mean 'optic'?)"


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n", (1, 3 + MAX_DEPTH), "nested deeper"),
        # no exponential: a wide anchor aliased many times (20k x 201 nodes from a file of 40k)
        (
            "x: &x [1]\ny: &y [" + "*x, " * 100 + "]\n" + "".join(f"z{i}: *y\n" for i in range(20_000)),
            None,
            "alias",
        ),
    ],
)
def test_limits_raise_at_their_position(text: str, where: tuple[int, int] | None, words: str) -> None:
    t = time.monotonic()
    with pytest.raises(YamlLimitError) as exc:
        load_text(text)
    assert words in exc.value.message
    if where is not None:
        assert (exc.value.line, exc.value.col) == where
    assert time.monotonic() - t < TIME_BOUND_S


def test_reader_semantics_yaml_1_2_merge_keys_tags_and_positions() -> None:
    doc = load_text(
        "base: &b {x: 1, y: 2}\n"
        "m: {<<: *b, y: 3}\n"
        "flags: [yes, no, on, true, False, ~, null]\n"
        "nums: [0x1F, 1_000, 1.5e3, .inf, -.inf, '7', !!str 8, !!float 2]\n"
        "at: [2026-01-10T08:00:00Z, 2026-01-10 08:00:00.5 +02:00, 2026-01-10, 2026-13-45T00:00:00Z]\n"
    )
    assert doc["m"] == {"x": 1, "y": 3}
    assert doc["flags"] == ["yes", "no", "on", True, False, None, None]
    assert doc["nums"][:3] == [31, 1000, 1500.0] and doc["nums"][3] == float("inf")
    assert doc["nums"][4:] == [float("-inf"), "7", "8", 2.0]
    t0, t1, d, bad = doc["at"]
    assert t0.isoformat() == "2026-01-10T08:00:00+00:00"
    assert t1.isoformat() == "2026-01-10T08:00:00.500000+02:00"
    assert d == "2026-01-10" and bad == "2026-13-45T00:00:00Z"
    for text, msg, pos in [
        ("a: 1\nb: 2\na: 3\n", "duplicate key 'a'", (3, 1)),
        ("a: !python/object:os.system x\n", "unknown tag", (1, 4)),
        ("--- 1\n--- 2\n", "second one", (2, 1)),
        ("a: *nope\n", "names no anchor", (1, 4)),
        ("[1, 2\n", "did not find expected", (2, 1)),
    ]:
        with pytest.raises(YamlReadError) as exc:
            load_text(text)
        assert msg in exc.value.message and (exc.value.line, exc.value.col) == pos, (text, exc.value)
    text = "a:\n  b:\n    - x\n    - {c: 1, d: [5, 6]}\n  e: 2\n"
    got = positions(text, [(("a", "b", 1, "d", 1), False), (("a", "e"), True), (("a", "zz"), True)])
    assert got == [(4, 21), (5, 3), (2, 3)]
