"""Inventory errors, each pointing at a file position: FILE:LINE:COL: path: message."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["InventoryError", "InventoryIssue"]


@dataclass(frozen=True, slots=True)
class InventoryIssue:
    """One error in an inventory file; ``col`` is None for CSV rows (then ``path`` is the column)."""

    file: str
    line: int
    col: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.col is None else f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.path}: {self.message}"


class InventoryError(Exception):
    """The inventory has errors; ``errors`` holds all of them, in file order."""

    def __init__(self, errors: list[InventoryIssue]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file, e.line, e.col or 0))
        super().__init__("\n".join(str(e) for e in self.errors))
