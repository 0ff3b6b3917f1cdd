"""The consoles every command prints through.

On a terminal, rich fits tables to the window. Written to a file or a pipe, rich would assume 80
columns and cut cells to "…"; there the width is unbounded instead, so what lands in a file is the
whole table, one row a line.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

PIPE_WIDTH = 10_000  # wide enough for any row; tables take only the width their cells need


def make_console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr): terminal-sized on a terminal, never truncating elsewhere."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPE_WIDTH, soft_wrap=True)
