"""Data: the storage, the formats and the territory.

Schemas of every layer, the H3 grid, territories, the DuckDB store (all SQL lives in
:mod:`geo.data.storage`), file reading and row validation, point-to-cell aggregation, the
dasymetric population, filters and the catalogue of sources. Imports only :mod:`geo.config`.
"""

__all__ = [
    "aggregate",
    "filters",
    "hexgrid",
    "io",
    "loader",
    "population",
    "schemas",
    "sources",
    "storage",
    "territory",
    "validate",
]
