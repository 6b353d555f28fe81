"""H3 helpers: bulk indexing, parents, polygons, areas, neighbours.

Cells are ``int64`` everywhere inside Lanterna (``h3.api.numpy_int``); hexadecimal strings appear
only at the UI edge (:func:`to_str`). H3 v4 API.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
import threading
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache

import geopandas as gpd
import h3
import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

_RES_OFFSET = 52
_RES_MASK = np.int64(0xF) << np.int64(_RES_OFFSET)
_MAX_RES = 15

_latlng_to_cell = np.frompyfunc(h3n.latlng_to_cell, 3, 1)

#: Points indexed per ufunc call: bounds the temporary array of Python integers (~36 bytes each).
CHUNK_POINTS = 500_000
#: Below this many points a process pool costs more than it saves.
PARALLEL_MIN_POINTS = 500_000

_SHARED: tuple[np.ndarray, np.ndarray, int] | None = None


def _index_into(lat: np.ndarray, lon: np.ndarray, res: int, out: np.ndarray) -> np.ndarray:
    for start in range(0, lat.size, CHUNK_POINTS):
        stop = start + CHUNK_POINTS
        out[start:stop] = _latlng_to_cell(lat[start:stop], lon[start:stop], res).astype(np.int64)
    return out


def _index_slice(bounds: tuple[int, int]) -> np.ndarray:
    lat, lon, res = _SHARED  # inherited from the parent through fork, not pickled
    start, stop = bounds
    return _index_into(lat[start:stop], lon[start:stop], res, np.empty(stop - start, dtype=np.int64))


def _fork_is_safe() -> bool:
    """Forking copies only the calling thread: safe when it is the only one (CLI, scripts)."""
    return threading.active_count() == 1 and sys.platform != "win32"


def points_to_cells(lat: np.ndarray, lon: np.ndarray, res: int, *, workers: int | None = None) -> np.ndarray:
    """H3 cell (int64) of each point, WGS84 degrees.

    Uses the numpy integer API cell by cell through a ufunc (about 2 M points/s per core), in
    chunks so that memory stays flat. Large inputs are split over ``workers`` processes (default:
    every core) when the calling process is single-threaded, so that ``fork`` is safe; inside a
    multi-threaded server (Streamlit) the work stays in-process. Callers must have checked that
    coordinates are finite.
    """
    global _SHARED
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    lon = np.ascontiguousarray(lon, dtype=np.float64)
    n = lat.size
    out = np.empty(n, dtype=np.int64)
    workers = workers or os.cpu_count() or 1
    if n < PARALLEL_MIN_POINTS or workers < 2 or not _fork_is_safe():
        return _index_into(lat, lon, res, out)
    edges = np.linspace(0, n, workers * 4 + 1, dtype=np.int64)
    _SHARED = (lat, lon, res)
    try:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            for (start, stop), part in zip(
                itertools.pairwise(edges),
                pool.map(_index_slice, zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True)),
                strict=True,
            ):
                out[start:stop] = part
    finally:
        _SHARED = None
    return out


def cell_to_parent(cells: np.ndarray | pd.Series, res: int) -> np.ndarray:
    """Parent cells at ``res`` for int64 cells of any finer (or equal) resolution, vectorised.

    Works on the H3 bit layout (resolution in bits 52-55, one 3-bit digit per resolution, unused
    digits set to 7), which is what ``h3.cell_to_parent`` does one cell at a time.
    """
    arr = np.asarray(cells, dtype=np.int64)
    if not 0 <= res <= _MAX_RES:
        raise ValueError(f"risoluzione H3 non valida: {res}")
    unused_digits = np.int64((1 << ((_MAX_RES - res) * 3)) - 1)
    out = (arr & ~_RES_MASK) | (np.int64(res) << np.int64(_RES_OFFSET))
    return out | unused_digits


def cell_resolution(cells: np.ndarray) -> np.ndarray:
    """Resolution of each int64 cell."""
    return (np.asarray(cells, dtype=np.int64) >> _RES_OFFSET) & 0xF


def to_str(cells: Iterable[int]) -> list[str]:
    """Hexadecimal H3 strings, for the UI and exports."""
    return [h3.int_to_str(int(c)) for c in cells]


def from_str(cells: Iterable[str]) -> np.ndarray:
    """int64 cells from hexadecimal strings; raises ``ValueError`` on an invalid one."""
    out = []
    for c in cells:
        try:
            value = h3.str_to_int(str(c).strip().lower())
        except ValueError:
            value = -1
        if value < 0 or not h3n.is_valid_cell(value):
            raise ValueError(f"cella H3 non valida: {c}")
        out.append(value)
    return np.asarray(out, dtype=np.int64)


@lru_cache(maxsize=500_000)
def _boundary(cell: int) -> tuple[tuple[float, float], ...]:
    return tuple((lng, lat) for lat, lng in h3n.cell_to_boundary(cell))


def cells_to_polygons(cells: Iterable[int]) -> list[shapely.Polygon]:
    """Shapely hexagons (lon, lat) for int64 cells; boundaries are cached across calls."""
    return [shapely.Polygon(_boundary(int(c))) for c in cells]


def cells_frame(cells: Iterable[int], *, crs: int = 4326) -> gpd.GeoDataFrame:
    """GeoDataFrame with ``cell`` and the hexagon geometry, in WGS84."""
    cells = np.asarray(list(cells), dtype=np.int64)
    return gpd.GeoDataFrame({"cell": cells}, geometry=cells_to_polygons(cells), crs=crs)


def cell_centers(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) arrays of cell centres."""
    pts = [h3n.cell_to_latlng(int(c)) for c in np.asarray(cells, dtype=np.int64)]
    if not pts:
        return np.empty(0), np.empty(0)
    arr = np.asarray(pts, dtype=np.float64)
    return arr[:, 0], arr[:, 1]


def cell_area_km2(res: int) -> float:
    """Average hexagon area at a resolution, km² (H3's published average)."""
    return float(h3.average_hexagon_area(res, unit="km^2"))


def exact_cell_areas_km2(cells: np.ndarray) -> np.ndarray:
    """Exact area of each cell, km²."""
    return np.asarray([h3n.cell_area(int(c), unit="km^2") for c in cells], dtype=np.float64)


def polygon_to_cells(geom: BaseGeometry, res: int) -> np.ndarray:
    """Cells whose centre lies inside a (multi)polygon in WGS84."""
    shape = h3.geo_to_h3shape(shapely.geometry.mapping(geom))
    cells = h3.h3shape_to_cells(shape, res)
    return np.asarray(sorted(h3.str_to_int(c) for c in cells), dtype=np.int64)


def neighbours(cell: int, k: int = 1) -> np.ndarray:
    """Cells within ``k`` steps of a cell (the cell included)."""
    return np.asarray(h3n.grid_disk(int(cell), k), dtype=np.int64)


def adjacency_pairs(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) of adjacent cells within the given set (both directions).

    Used as the H3 contiguity for spatial weights and for contiguity-constrained clustering.
    """
    cells = np.asarray(cells, dtype=np.int64)
    position = {int(c): i for i, c in enumerate(cells)}
    rows: list[int] = []
    cols: list[int] = []
    for i, c in enumerate(cells):
        for n in h3n.grid_ring(int(c), 1):
            j = position.get(int(n))
            if j is not None:
                rows.append(i)
                cols.append(j)
    return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)


def suggest_resolution(area_km2: float) -> int:
    """A default resolution for a map extent: a few thousand hexagons at most.

    Folium/Leaflet slows down past a few thousand polygons (folium #1746), so the coarsest
    resolution giving at least ~1 hexagon per 0.3% of the extent is chosen, within 7-10.
    """
    for res in (7, 8, 9, 10):
        if area_km2 / cell_area_km2(res) >= 300:
            return res
    return 10
