"""Decoders: walked tables -> samples in the core schema, one class per table layout.

``LAYOUTS`` is the registry of the built-in layouts, keyed by the ``layout:`` a profile's table names
(see :mod:`collector.layout` for the protocol a layout implements).
"""

from __future__ import annotations

from collector.decode.entity import EntitySensorLayout
from collector.decode.ifindex import IfIndexLayout
from collector.decode.module import ModuleLayout
from collector.layout import LayoutRegistry

__all__ = ["LAYOUTS"]

LAYOUTS = LayoutRegistry()
LAYOUTS.register(IfIndexLayout())
LAYOUTS.register(EntitySensorLayout())
LAYOUTS.register(ModuleLayout())
