"""The camera layer as each role may see it.

The exact position of the cameras of the **police forces** (owner ``polizia``) is visible only to
the roles cleared by :data:`geo.access.privacy.CLEARED_ROLES` (Prefettura, police forces; the
``view_police_cameras`` action of :mod:`geo.access.permissions`). For every other role
:func:`visible_cameras` moves each police camera to the centre of its resolution-9 hexagon
(about 0,1 km²) and removes its code, direction, angle, range and control room; its coverage is
published only as the share of each resolution-9 hexagon that police cameras cover
(:func:`police_hex_coverage`), never as a footprint. Cameras of the Comuni and private cameras
under agreement are shown exactly.

The rule is enforced here, in ``geo``: the page, the exports and the command line all receive the
frame this module returns.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.access.privacy import can_see_exact
from geo.cameras import coverage as cov
from geo.data import hexgrid

POLICE = "polizia"
#: Resolution of the hexagons police cameras are snapped to and aggregated on.
POLICE_RES = 9
HIDDEN_ID = "riservata"


def load_cameras(store, *, comuni: Sequence[str] | None = None) -> pd.DataFrame:
    """Every camera of the store (optionally of some comuni), exact positions (library use)."""
    return store.points("cameras", comuni=list(comuni) if comuni else None)


def can_see_police(role: str | None) -> bool:
    """True when ``role`` may see where police cameras are."""
    return can_see_exact(role)


def visible_cameras(cameras: pd.DataFrame, role: str | None) -> pd.DataFrame:
    """The cameras ``role`` may see, with ``position_exact`` (False: police camera snapped to the
    centre of its resolution-9 hexagon, without code, direction, angle, range, control room)."""
    out = cameras.copy()
    out["position_exact"] = True
    if out.empty or can_see_police(role):
        return out
    police = (out["owner"].astype(str) == POLICE).to_numpy()
    if not police.any():
        return out
    parents = hexgrid.cell_to_parent(out.loc[police, "cell"].to_numpy(dtype=np.int64), POLICE_RES)
    lat, lon = hexgrid.cell_centers(parents)
    out.loc[police, "lat"] = lat
    out.loc[police, "lon"] = lon
    out.loc[police, "cell"] = parents
    out.loc[police, "camera_id"] = [f"{HIDDEN_ID}-{i + 1}" for i in range(int(police.sum()))]
    for col in ("direction_deg", "fov_deg", "range_m", "year"):
        if col in out:
            out[col] = out[col].astype("Float64" if col == "year" else float)
            out.loc[police, col] = np.nan
    for col in ("control_room", "source"):
        if col in out:
            out[col] = out[col].astype(object)
            out.loc[police, col] = None
    out.loc[police, "position_exact"] = False
    # the rows are shuffled into cell order, so that the row order tells nothing either
    return out.sort_values(["position_exact", "pro_com_t", "cell"], kind="stable").reset_index(drop=True)


def visible_footprints(cameras: pd.DataFrame, role: str | None, metric_crs: str, *,
                       buildings: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Footprints ``role`` may see: every camera for cleared roles, no police camera otherwise."""
    shown = cameras if can_see_police(role) else cameras[cameras["owner"].astype(str) != POLICE]
    return cov.footprints(shown, metric_crs, buildings=buildings)


def police_hex_coverage(cameras: pd.DataFrame, metric_crs: str, *, buildings: gpd.GeoDataFrame | None = None
                        ) -> pd.Series:
    """Share of each resolution-9 hexagon covered by police cameras (only hexagons above 0)."""
    police = cameras[cameras["owner"].astype(str) == POLICE]
    if police.empty:
        return pd.Series(dtype=float, index=pd.Index([], name="cell", dtype=np.int64), name="coverage")
    union = cov.union(cov.footprints(police, metric_crs, buildings=buildings).geometry)
    parents = np.unique(hexgrid.cell_to_parent(police["cell"].to_numpy(dtype=np.int64), POLICE_RES))
    ring = np.unique(np.concatenate([hexgrid.neighbours(int(c), 1) for c in parents]))
    frac = cov.cell_coverage(union, ring, metric_crs)
    return frac[frac > 0]
