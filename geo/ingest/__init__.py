"""Ingest: files into layers.

All-or-nothing imports of user files into a layer, with permissions and an audit entry
(:mod:`~geo.ingest.importers`).
"""

__all__ = ["importers"]
