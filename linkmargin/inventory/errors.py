"""Inventory errors, each pointing at a file position: FILE:LINE:COL: path: message.

The issue type is the core's :class:`linkmargin.yamlcheck.FileIssue`, shared by every checked file.
"""

from __future__ import annotations

from linkmargin.yamlcheck import FileIssue, FileIssues

__all__ = ["InventoryError", "InventoryIssue"]

InventoryIssue = FileIssue


class InventoryError(FileIssues):
    """The inventory has errors; ``errors`` holds all of them, in file order."""
