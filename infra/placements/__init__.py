"""Placement targets: one module per target behind one interface (see base.py)."""

from infra.placements.base import Placement, placement_for, registry

PLACEMENTS = registry()

__all__ = ["PLACEMENTS", "Placement", "placement_for"]
