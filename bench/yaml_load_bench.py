"""Loading a large inventory: linkmargin's bounded YAML reader beside ruamel's round-trip loader (the
reader it replaced), each in its own process for its peak RSS.

Usage: .venv/bin/python -m bench yaml_load [--links 75000] [--peer-links 5000]
       [--out bench/results/yaml_load.md]
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import textwrap
from datetime import UTC, datetime
from pathlib import Path


def inventory_text(n_links: int) -> str:
    """A legal inventory of ``n_links`` links, two connection points each, with event histories."""
    n_dev = n_links // 16 + 2
    parts = ["site: big\ncredentials:\n  ro: {version: 2c, community_env: C}\ndevices:\n"]
    parts += [f"  - {{name: sw{d:05d}, address: 127.0.0.1, credentials: ro}}\n" for d in range(n_dev)]
    parts.append("links:\n")
    for i in range(n_links):
        a, b = i % n_dev, (i + 1) % n_dev
        parts.append(
            f"  - id: link-{i:07d}\n"
            f"    a: {{device: sw{a:05d}, port: Ethernet{i}/1}}\n"
            f"    b: {{device: sw{b:05d}, port: Ethernet{i}/2}}\n"
            "    optic: 400GBASE-SR8\n"
            "    fiber: {type: OM4, length_m: 62}\n"
            "    connections:\n"
            f"      - id: p{i:07d}-1\n"
            "        type: MTP-16\n        grade: low-loss\n        termination: factory\n"
            "        events:\n"
            "          - {at: 2026-01-10T08:00:00Z, kind: mated}\n"
            "          - {at: 2026-05-02T13:25:00Z, kind: inspected, result: pass}\n"
            f"      - {{id: p{i:07d}-2, type: MMC, termination: field}}\n"
        )
    return "".join(parts)


PROBE = textwrap.dedent(
    """
    import resource, sys, time
    path, how = sys.argv[1], sys.argv[2]
    t = time.perf_counter()
    if how == "linkmargin-read":
        from linkmargin.yamlcheck import read_yaml
        read_yaml(path, max_bytes=2**31)
    elif how == "linkmargin-load":
        import os
        os.environ["LINKMARGIN_YAML_MAX_MB"] = "2048"
        from linkmargin.inventory import load_inventory
        load_inventory(path)
    else:
        from ruamel.yaml import YAML
        YAML(typ="rt").load(open(path, encoding="utf-8"))
    dt = time.perf_counter() - t
    print(dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    """
)


def _measure(path: Path, how: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(path), how], capture_output=True, text=True, check=True
    ).stdout
    wall, rss = out.split()
    return float(wall), float(rss)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--links", type=int, default=75_000)
    ap.add_argument("--peer-links", type=int, default=5_000, help="the peer is slow: a smaller file")
    ap.add_argument("--out", default="bench/results/yaml_load.md")
    args = ap.parse_args(sys.argv[2:] if sys.argv[1:2] == ["yaml_load"] else sys.argv[1:])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, hows in (
            (args.peer_links, ("ruamel-rt", "linkmargin-read", "linkmargin-load")),
            (args.links, ("linkmargin-read", "linkmargin-load")),
        ):
            f = Path(tmp) / f"inv-{n}.yaml"
            f.write_text(inventory_text(n))
            mb = f.stat().st_size / 2**20
            for how in hows:
                wall, rss = _measure(f, how)
                rows.append((how, n, mb, wall, n / wall, rss))
                print(
                    f"{how:16} {n:>7} links {mb:6.1f} MB {wall:7.2f} s {n / wall:9,.0f} links/s {rss:7.0f} MB"
                )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Loading a large inventory",
        "",
        f"Measured {when} on {platform.machine()}, Python {platform.python_version()} "
        "(`bench/yaml_load_bench.py`), each load in its own process (peak RSS of that process).",
        "`linkmargin-read` is the YAML reader alone (`linkmargin.yamlcheck.read_yaml`), `linkmargin-load`",
        "the whole `load_inventory` (reader, pydantic validation, catalog cross-checks); `ruamel-rt` is",
        "ruamel.yaml's round-trip loader, the reader before, parsing only.",
        "",
        "| reader | links | MB | wall s | links/s | peak RSS MB |",
        "|---|---|---|---|---|---|",
        *(f"| {h} | {n} | {mb:.1f} | {w:.2f} | {r:,.0f} | {rss:.0f} |" for h, n, mb, w, r, rss in rows),
        "",
        "The machine is shared with other jobs: absolute figures move between runs; the ratio holds.",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
