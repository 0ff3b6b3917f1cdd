"""The inventory: what is physically installed, as the site records it (YAML or CSV)."""

from __future__ import annotations

from linkmargin.inventory.errors import InventoryError, InventoryIssue
from linkmargin.inventory.loader import load_csv, load_inventory, load_yaml
from linkmargin.inventory.models import (
    Channel,
    ConnectionPoint,
    Device,
    End,
    Event,
    FiberSpan,
    Inventory,
    Link,
    Site,
)

__all__ = [
    "Channel",
    "ConnectionPoint",
    "Device",
    "End",
    "Event",
    "FiberSpan",
    "Inventory",
    "InventoryError",
    "InventoryIssue",
    "Link",
    "Site",
    "load_csv",
    "load_inventory",
    "load_yaml",
]
