"""Run every benchmark module (``bench/*_bench.py``) in turn: ``python -m bench [NAME ...]``.

Each module exposes ``main() -> None`` that measures linkmargin beside its peer in the same run
and writes a Markdown result under ``bench/results/``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(p.stem for p in here.glob("*_bench.py"))
    chosen = [n for n in names if not argv or any(a in n for a in argv)]
    if not chosen:
        print(f"no benchmark matches {argv}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    for name in chosen:
        print(f"== {name}", flush=True)
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
