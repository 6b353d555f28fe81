"""Zones: hot spots and pilot zones (pact art. 4).

Indicators per hexagon, hot spots and emerging hot-spot classes, priority presets, contiguous
pilot zones (:mod:`~geo.zones.pilot`) and their report.
"""

__all__ = ["hotspots", "indicators", "pilot", "priority", "report"]
