"""What the cameras see: footprints, the cut by buildings, coverage per hexagon and its shares.

Footprint of a camera (metric CRS of the territory)
    * ``fissa`` and ``lettura_targhe`` with a direction: a circular **sector** centred on the
      camera, from ``direction - fov/2`` to ``direction + fov/2`` (degrees clockwise from north,
      as a compass), radius ``range_m``; its area is ``fov/360 * pi * r**2``.
    * ``dome`` (PTZ) or an angle of 360°: the **circle** of radius ``range_m`` (a PTZ camera can
      look everywhere, though not at once: the circle is what it can cover).
    * A directional camera whose direction is unknown: a circle of the same **area** as its sector
      (radius ``r * sqrt(fov/360)``), centred on the camera, and flagged ``direction_known = False``.
    Missing range and angle take the defaults of the type (:data:`geo.cameras.evidence.CAMERA_COSTS`).
    Only cameras with status ``attiva`` (or unknown) cover anything.

Cut by buildings (:func:`cut_by_buildings`)
    Buildings block the view: from each footprint the building itself and its *shadow* are removed,
    the region behind it seen from the camera (the convex hull of the building and of its
    vertices projected far away along the rays from the camera). Exact for convex buildings; for
    other shapes the convex hull of each building is used (a small over-estimate of the shadow).
    A building that contains the camera (it is mounted on its wall) does not block it.

Coverage per hexagon (:func:`cell_coverage`)
    The area fraction (0-1) of each H3 hexagon inside the union of the footprints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.cameras.evidence import CAMERA_COSTS
from geo.data import hexgrid

#: Statuses whose cameras cover (unknown status counts as active).
COVERING_STATUS = frozenset({"attiva"})
#: Arc resolution of sectors and circles (segments per degree of arc, at least 1).
ARC_STEP_DEG = 1.0
#: A building within this distance (m) of the camera is the one it is mounted on.
MOUNT_TOLERANCE_M = 2.0


def sector(x: float, y: float, direction_deg: float, fov_deg: float, range_m: float, *,
           step_deg: float = ARC_STEP_DEG) -> shapely.Polygon:
    """Circular sector (or circle when ``fov_deg >= 360``) at ``(x, y)`` in metres.

    ``direction_deg`` is clockwise from north (0 = north, 90 = east); the sector spans
    ``direction ± fov/2``.
    """
    if range_m <= 0 or fov_deg <= 0:
        return shapely.Polygon()
    if fov_deg >= 360:
        n = max(math.ceil(360 / step_deg), 16)
        t = np.linspace(0, 2 * math.pi, n, endpoint=False)
        return shapely.Polygon(np.column_stack([x + range_m * np.cos(t), y + range_m * np.sin(t)]))
    n = max(math.ceil(fov_deg / step_deg), 2) + 1
    bearings = np.radians(np.linspace(direction_deg - fov_deg / 2, direction_deg + fov_deg / 2, n))
    arc = np.column_stack([x + range_m * np.sin(bearings), y + range_m * np.cos(bearings)])
    return shapely.Polygon(np.vstack([[x, y], arc]))


def resolved_geometry(cameras: pd.DataFrame) -> pd.DataFrame:
    """``range_m``, ``fov_deg``, ``direction_deg`` with the defaults of each type filled in, and
    ``direction_known``, ``covering`` (status active or unknown)."""
    kinds = cameras["kind"].astype(str)
    default_r = kinds.map({k: c.range_m for k, c in CAMERA_COSTS.items()}).astype(float)
    default_f = kinds.map({k: c.fov_deg for k, c in CAMERA_COSTS.items()}).astype(float)
    def col(name: str) -> pd.Series:
        if name not in cameras:
            return pd.Series(np.nan, index=cameras.index, dtype=float)
        return pd.to_numeric(cameras[name], errors="coerce").astype(float)

    r = col("range_m").fillna(default_r)
    fov = col("fov_deg").fillna(default_f)
    fov = fov.where(kinds != "dome", 360.0)
    direction = col("direction_deg")
    known = direction.notna() | (fov >= 360)
    status = cameras["status"] if "status" in cameras else pd.Series(None, index=cameras.index)
    covering = status.isna() | status.astype(str).isin(COVERING_STATUS)
    return pd.DataFrame({"range_m": r, "fov_deg": fov, "direction_deg": direction, "direction_known": known,
                         "covering": covering.astype(bool)}, index=cameras.index)


def to_metric(lon: np.ndarray, lat: np.ndarray, metric_crs: str) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 degrees → metres in ``metric_crs``."""
    tr = pyproj.Transformer.from_crs(4326, pyproj.CRS.from_user_input(metric_crs), always_xy=True)
    x, y = tr.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def footprints(cameras: pd.DataFrame, metric_crs: str, *, buildings: gpd.GeoDataFrame | None = None
               ) -> gpd.GeoDataFrame:
    """One footprint per camera (index of ``cameras``), in ``metric_crs``.

    ``cameras`` needs ``lon``, ``lat``, ``kind`` and optionally ``direction_deg``, ``fov_deg``,
    ``range_m``, ``status``. Cameras that do not cover (broken, planned, dismissed) get an empty
    footprint. With ``buildings`` (any CRS) the footprints are cut by them.
    """
    geo = resolved_geometry(cameras)
    x, y = to_metric(cameras["lon"].to_numpy(), cameras["lat"].to_numpy(), metric_crs)
    polys = []
    for xi, yi, (_, g) in zip(x, y, geo.iterrows(), strict=True):
        if not g["covering"]:
            polys.append(shapely.Polygon())
        elif g["direction_known"]:
            polys.append(sector(xi, yi, float(g["direction_deg"]) if g["fov_deg"] < 360 else 0.0,
                                float(g["fov_deg"]), float(g["range_m"])))
        else:
            polys.append(sector(xi, yi, 0.0, 360.0, float(g["range_m"]) * math.sqrt(float(g["fov_deg"]) / 360.0)))
    out = gpd.GeoDataFrame(geo.assign(x=x, y=y), geometry=polys, crs=metric_crs, index=cameras.index)
    if buildings is not None and len(buildings):
        out["geometry"] = cut_by_buildings(out.geometry.to_numpy(), x, y, buildings.to_crs(metric_crs).geometry,
                                           far_m=float(geo["range_m"].max() if len(geo) else 0.0) * 10 + 1.0)
    return out


def shadow(building: shapely.Geometry, x: float, y: float, far_m: float) -> shapely.Geometry:
    """The building and the region behind it seen from ``(x, y)``, up to ``far_m`` metres."""
    hull = shapely.convex_hull(building)
    pts = shapely.get_coordinates(hull)
    if len(pts) == 0:
        return shapely.Polygon()
    d = pts - np.array([x, y])
    norm = np.hypot(d[:, 0], d[:, 1])
    norm[norm == 0] = 1.0
    far = np.array([x, y]) + d / norm[:, None] * far_m
    return shapely.convex_hull(shapely.MultiPoint(np.vstack([pts, far])))


def cut_by_buildings(geoms: Sequence[shapely.Geometry] | np.ndarray, x: np.ndarray, y: np.ndarray,
                     buildings: gpd.GeoSeries | Sequence[shapely.Geometry], *, far_m: float = 2_000.0
                     ) -> np.ndarray:
    """Footprints (metric) minus the buildings they meet and their shadows (see the module notes)."""
    geoms = np.asarray(geoms, dtype=object)
    blds = np.asarray(list(buildings), dtype=object)
    if blds.size == 0:
        return geoms
    tree = shapely.STRtree(blds)
    out = geoms.copy()
    for i, g in enumerate(geoms):
        if g is None or shapely.is_empty(g):
            continue
        hits = tree.query(g, predicate="intersects")
        if hits.size == 0:
            continue
        cam = shapely.Point(float(x[i]), float(y[i]))
        blockers = [shadow(blds[j], float(x[i]), float(y[i]), far_m) for j in hits
                    if shapely.distance(blds[j], cam) > MOUNT_TOLERANCE_M]
        if blockers:
            out[i] = shapely.difference(g, shapely.union_all(blockers))
    return out


def union(geoms: gpd.GeoSeries | Sequence[shapely.Geometry]) -> shapely.Geometry:
    """Union of footprints (empty geometry when there are none)."""
    parts = [g for g in geoms if g is not None and not shapely.is_empty(g)]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def cell_polygons(cells: np.ndarray, metric_crs: str) -> np.ndarray:
    """H3 cell polygons in ``metric_crs``."""
    frame = hexgrid.cells_frame(np.asarray(cells, dtype=np.int64)).to_crs(metric_crs)
    return frame.geometry.to_numpy()


def cell_coverage(covered: shapely.Geometry, cells: np.ndarray, metric_crs: str) -> pd.Series:
    """Area fraction (0-1) of each cell inside ``covered`` (metric), indexed by cell."""
    cells = np.asarray(cells, dtype=np.int64)
    if cells.size == 0:
        return pd.Series(dtype=float, index=pd.Index(cells, name="cell"))
    polys = cell_polygons(cells, metric_crs)
    frac = np.zeros(cells.size)
    if not shapely.is_empty(covered):
        tree = shapely.STRtree(polys)
        hit = tree.query(covered, predicate="intersects")
        if hit.size:
            shapely.prepare(covered)
            inter = shapely.intersection(polys[hit], covered)
            frac[hit] = np.clip(shapely.area(inter) / shapely.area(polys[hit]), 0.0, 1.0)
    return pd.Series(frac, index=pd.Index(cells, name="cell"), name="coverage")


def points_covered(lon: np.ndarray, lat: np.ndarray, covered: shapely.Geometry, metric_crs: str) -> np.ndarray:
    """True for the points (WGS84) inside ``covered`` (metric)."""
    lon = np.asarray(lon, dtype=float)
    if lon.size == 0 or shapely.is_empty(covered):
        return np.zeros(lon.size, dtype=bool)
    x, y = to_metric(lon, np.asarray(lat, dtype=float), metric_crs)
    shapely.prepare(covered)
    return np.asarray(shapely.contains_xy(covered, x, y), dtype=bool)


def weighted_share(fraction: pd.Series | np.ndarray, weights: pd.Series | np.ndarray) -> float:
    """``sum(fraction * weight) / sum(weight)`` (NaN when there is no weight)."""
    f = np.asarray(fraction, dtype=float)
    w = np.asarray(weights, dtype=float)
    total = float(np.nansum(w))
    return float(np.nansum(f * w) / total) if total > 0 else float("nan")


def zone_coverage(zone_cells: dict[str, np.ndarray], covered: shapely.Geometry, metric_crs: str) -> pd.DataFrame:
    """Coverage of each zone: ``zone``, ``area_km2``, ``covered_km2``, ``share``."""
    rows = []
    for name, cells in zone_cells.items():
        polys = cell_polygons(np.asarray(cells, dtype=np.int64), metric_crs)
        shape = shapely.union_all(polys) if len(polys) else shapely.Polygon()
        area = float(shapely.area(shape))
        cov = float(shapely.area(shapely.intersection(shape, covered))) if area and not shapely.is_empty(covered) \
            else 0.0
        rows.append({"zone": name, "area_km2": area / 1e6, "covered_km2": cov / 1e6,
                     "share": cov / area if area else float("nan")})
    return pd.DataFrame(rows, columns=["zone", "area_km2", "covered_km2", "share"])
