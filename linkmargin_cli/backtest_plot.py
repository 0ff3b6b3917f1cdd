"""The backtest's reliability diagram as a PNG: forecast P per bin against the share that crossed."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def reliability_png(rows: list[dict[str, Any]], path: Path) -> Path:
    """Draw the reliability table (``analyzer.backtest.reliability`` rows) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfectly calibrated")
    if rows:
        x = [r["mean_p"] for r in rows]
        y = [r["observed"] for r in rows]
        n = [r["n"] for r in rows]
        ax.plot(x, y, marker="o", color="tab:blue", label="linkmargin")
        for xi, yi, ni in zip(x, y, n, strict=True):
            ax.annotate(str(ni), (xi, yi), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("forecast P(cross within H), bin mean")
    ax.set_ylabel("observed share that crossed")
    ax.set_title("Reliability (numbers: forecasts per bin)")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
