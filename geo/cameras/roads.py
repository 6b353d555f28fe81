"""Reading gaps of licence-plate readers on the access roads of each comune (issue 18).

The Massa-Carrara pact (art. 1) asks the Comuni to "monitorare gli ingressi e le uscite dalla città
attraverso telecamere con sistema di rilevamento targa". This module finds where the imported
road layer crosses the boundary between two comuni and says which of those accesses no plate
reader watches.

Accesses (:func:`access_points`)
    The road layer is stored as road length per resolution-10 cell and OSM ``highway`` class
    (:mod:`geo.ingest.importers`, no line geometry). A road *crosses* a boundary where a road cell
    of one comune is an H3 neighbour of a road cell of another: the cells of such pairs are the
    *border cells*, and each connected group of border cells (H3 contiguity) is one **access**,
    named ``A001``, ``A002``... from north-west. Its class is the ``highway`` value with the most
    length in its cells.

Covered (:func:`reading_gaps`)
    An access is covered when the field of view of an active plate reader (``lettura_targhe``:
    its sector, with its own range, or the type's default range of
    :data:`geo.cameras.evidence.CAMERA_COSTS`) overlaps one of its cells by more than
    :data:`MIN_OVERLAP_M2`: the reader is within its range of the road where it crosses. Other
    camera types do not read plates and do not count.

Privacy
    Where police readers are, is known only to the cleared roles (:mod:`geo.cameras.inventory`):
    for every other role the police readers are left out, so an access they watch shows as a gap
    ("senza lettore comunale o privato"), and the page says so. Otherwise the table would place a
    police reader within a cell of about 0,015 km².

Limits: a road that runs along a boundary gives one long access; two roads that cross the
boundary in neighbouring cells give one access.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from geo.cameras import coverage as cov
from geo.cameras.inventory import POLICE, can_see_police, load_cameras
from geo.data import hexgrid

READER = "lettura_targhe"
#: A reader's footprint must overlap an access cell by more than this (m²) to cover it.
MIN_OVERLAP_M2 = 1.0
NO_ROADS_NOTE = ("Nessuna rete stradale importata: per individuare gli accessi ai comuni e i varchi senza "
                 "lettura targhe importare il livello Strade (pagina Dati, o `python -m geo import strade FILE`).")
POLICE_LEFT_OUT_NOTE = ("I lettori targhe delle forze di polizia non sono considerati (la loro posizione è "
                        "riservata): un accesso che solo loro sorvegliano risulta scoperto.")
ACCESS_COLUMNS = ["access", "comuni", "highway", "length_m", "lat", "lon", "cells"]


@dataclass
class AccessGaps:
    """The accesses of the territory (or of some comuni) with ``readers`` and ``covered``."""

    accesses: pd.DataFrame
    has_roads: bool
    police_left_out: bool

    @property
    def gaps(self) -> pd.DataFrame:
        return self.accesses[~self.accesses["covered"]].reset_index(drop=True)


def access_points(roads: pd.DataFrame) -> pd.DataFrame:
    """Accesses from road cells (``cell``, ``highway``, ``length_m``, ``pro_com_t``): one row per
    access with ``access``, ``comuni`` (sorted codes), ``highway``, ``length_m`` (road length in its
    cells), ``lat``/``lon`` (mean of its cell centres) and ``cells``."""
    roads = roads[roads["pro_com_t"].notna()]
    if roads.empty:
        return pd.DataFrame(columns=ACCESS_COLUMNS)
    comune = roads.groupby("cell")["pro_com_t"].first()
    cells = comune.index.to_numpy(dtype=np.int64)
    codes = comune.to_numpy()
    rows, cols = hexgrid.adjacency_pairs(cells)
    border = np.zeros(len(cells), dtype=bool)
    cross = codes[rows] != codes[cols]
    border[rows[cross]] = True
    if not border.any():
        return pd.DataFrame(columns=ACCESS_COLUMNS)
    both = border[rows] & border[cols]
    graph = sp.csr_matrix((np.ones(int(both.sum())), (rows[both], cols[both])), shape=(len(cells), len(cells)))
    _, label = connected_components(graph, directed=False)
    idx = np.flatnonzero(border)
    lat, lon = hexgrid.cell_centers(cells[idx])
    parts = pd.DataFrame({"cell": cells[idx], "group": label[idx], "pro_com_t": codes[idx], "lat": lat, "lon": lon})
    length = roads.groupby(["cell", "highway"], as_index=False)["length_m"].sum().merge(parts[["cell", "group"]])
    main = length.sort_values(["group", "length_m", "highway"], ascending=[True, False, True]).drop_duplicates("group")
    out = parts.groupby("group").agg(lat=("lat", "mean"), lon=("lon", "mean"),
                                     comuni=("pro_com_t", lambda s: tuple(sorted(set(s)))),
                                     cells=("cell", lambda s: np.sort(s.to_numpy(dtype=np.int64))))
    out["highway"] = main.set_index("group")["highway"].reindex(out.index)
    out["length_m"] = length.groupby("group")["length_m"].sum().reindex(out.index)
    out = out.sort_values(["lat", "lon"], ascending=[False, True]).reset_index(drop=True)
    out["access"] = [f"A{i + 1:03d}" for i in range(len(out))]
    return out[ACCESS_COLUMNS]


def reading_gaps(accesses: pd.DataFrame, cameras: pd.DataFrame, metric_crs: str, *, role: str | None
                 ) -> pd.DataFrame:
    """``accesses`` with ``readers`` (plate readers ``role`` may know of whose field of view
    reaches the access) and ``covered`` (at least one)."""
    out = accesses.copy()
    out["readers"] = np.zeros(len(out), dtype=np.int64)
    readers = cameras[cameras["kind"].astype(str) == READER] if len(cameras) else cameras
    if len(readers) and not can_see_police(role):
        readers = readers[readers["owner"].astype(str) != POLICE]
    if len(out) and len(readers):
        foot = cov.footprints(readers, metric_crs).geometry.to_numpy()
        cells = np.concatenate(out["cells"].to_numpy())
        owner = np.repeat(np.arange(len(out)), [len(c) for c in out["cells"]])
        polys = cov.cell_polygons(cells, metric_crs)
        tree = shapely.STRtree(polys)
        count = np.zeros(len(out), dtype=np.int64)
        for g in foot:
            if g is None or shapely.is_empty(g):
                continue
            hit = tree.query(g, predicate="intersects")
            hit = hit[shapely.area(shapely.intersection(polys[hit], g)) > MIN_OVERLAP_M2]
            count[np.unique(owner[hit])] += 1
        out["readers"] = count
    out["covered"] = out["readers"] > 0
    return out


def access_gaps(store, metric_crs: str, *, role: str | None, comuni: Sequence[str] | None = None,
                cameras: pd.DataFrame | None = None) -> AccessGaps:
    """The accesses of the store's road layer and their readers; with ``comuni``, the accesses of
    those comuni only (found on the whole network: the other side is another comune)."""
    roads = store.road_cells()
    acc = access_points(roads)
    if comuni and len(acc):
        wanted = {str(c) for c in comuni}
        acc = acc[[bool(wanted & set(c)) for c in acc["comuni"]]].reset_index(drop=True)
    cams = load_cameras(store) if cameras is None else cameras
    out = reading_gaps(acc, cams, metric_crs, role=role)
    return AccessGaps(accesses=out, has_roads=len(roads) > 0, police_left_out=not can_see_police(role))
