"""CPU per backtest step of the lab: every switch's view brought to the next sim time, as `linkmargin
backtest` asks for it (one view per switch per step, the fleet's optical state worked out once).

Usage: .venv/bin/python -m bench.lab_step_bench [--scenario training-21d] [--step 1h] [--steps 4]
       [--default-gc]

Reports the first render (static + dynamic rows, MibView built) and the mean of ``--steps`` later
steps split into: the sim advancing, the dynamic rows rendered, and the views updated with the values
that changed. CPU time (``time.process_time``), so other load on the machine barely moves it. By
default the cyclic GC is settled as the backtest settles it after its first step
(``linkmargin_cli.gcsettle.gc_settled``); ``--default-gc`` keeps Python's defaults.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict
from typing import Any

from lab.fabric import LabFabric
from lab.layouts.render import SwitchRenderer
from lab.scenario import load_scenario
from linkmargin.durations import parse_duration
from linkmargin_cli.gcsettle import gc_settled


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="training-21d")
    ap.add_argument("--step", default="1h")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--default-gc", action="store_true")
    args = ap.parse_args()
    step_s = parse_duration(args.step)
    clock = [0.0]
    fab = LabFabric(load_scenario(args.scenario), refresh_s=0.0, clock=lambda: clock[0])
    spent: dict[str, float] = defaultdict(float)
    rows: Counter[str] = Counter()
    render = SwitchRenderer.dynamic_rows

    def timed(self: SwitchRenderer, *a: Any) -> Any:
        t = time.process_time()
        out = render(self, *a)
        spent["dynamic rows"] += time.process_time() - t
        rows["dynamic"] += len(out)
        return out

    SwitchRenderer.dynamic_rows = timed  # type: ignore[method-assign,assignment]
    with gc_settled() as settle:
        t = time.process_time()
        for d in fab.devices:
            fab.view(d)
        first = time.process_time() - t
        total = sum(len(fab.view(d)) for d in fab.devices)
        if not args.default_gc:
            settle()
        spent.clear()
        rows.clear()
        for k in range(1, args.steps + 1):
            clock[0] = k * step_s
            t = time.process_time()
            fab.tick()
            spent["sim"] += time.process_time() - t
            t = time.process_time()
            for d in fab.devices:
                fab.view(d)
            spent["views"] += time.process_time() - t
    n = args.steps
    views = spent["views"] / n
    dyn = spent["dynamic rows"] / n
    print(
        f"| {args.scenario}, {len(fab.devices)} switches, {total:,} rows, step {args.step}, "
        f"{'default GC' if args.default_gc else 'GC settled'} | first render {first:.1f} s | "
        f"per step {spent['sim'] / n + views:.2f} s: sim {spent['sim'] / n:.2f}, dynamic rows {dyn:.2f} "
        f"({rows['dynamic'] // n:,}), view update {views - dyn:.2f} |"
    )


if __name__ == "__main__":
    main()
