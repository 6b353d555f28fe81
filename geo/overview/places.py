"""Place names for hexagons and zones: the nearest locality, frazione or quarter of the cell's comune.

Officers and Prefetti do not read H3 codes. Every hexagon is named after the nearest settlement
of the territory's localities layer (``localita.geojson``, OpenStreetMap place nodes, or the
``localities`` table of a database built from it):

* only settlements name a cell (:data:`PLACE_KINDS`: city, capoluogo, town, seat of the comune,
  quarter, frazione, locality), not peaks, hotels or stations;
* the locality must be in the **cell's comune** (a cell of Carrara is never named after a
  frazione of Massa across the border); a cell whose comune is unknown takes the nearest of all;
* distances are measured between the cell's centre and the locality on a local equirectangular
  projection (metres; the error over a province is well under 1 %), with a k-d tree per comune
  (:class:`scipy.spatial.cKDTree`): one query for all the cells of a comune;
* a cell farther than its locality's reach from it is named "presso <locality>": the reach is
  :data:`FAR_M` (1.5 km, about the walk from a village's square to its last houses), larger for
  towns and cities whose point stands at their centre (:data:`REACH_M`);
* a comune without any locality names its cells after the comune itself.

Names are labelled with their comune as "Marina di Carrara (Carrara)" (:func:`place_label`);
a locality named like its comune is just "Carrara".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo.data import hexgrid

#: Locality kinds (``tipo``) that name a place: settlements, from the largest.
PLACE_KINDS: tuple[str, ...] = ("citta", "capoluogo", "paese", "sede_comunale", "quartiere", "frazione", "localita")
#: Beyond this distance (metres) from its locality, a cell is "presso" it.
FAR_M = 1500.0
#: Reach (metres) of the kinds whose point is the centre of a larger built-up area.
REACH_M: dict[str, float] = {"citta": 3000.0, "capoluogo": 3000.0, "paese": 2000.0}
#: Prefix of a place beyond its locality's reach.
NEAR_PREFIX = "presso "
_EARTH_M = 6_371_008.8

LOCATE_COLUMNS = ["cell", "pro_com_t", "comune", "locality", "distance_m", "place", "label"]


def _project(lat: np.ndarray, lon: np.ndarray, lat0: float) -> np.ndarray:
    """Local equirectangular coordinates (metres) around latitude ``lat0``."""
    lat_r, lon_r = np.radians(np.asarray(lat, dtype=np.float64)), np.radians(np.asarray(lon, dtype=np.float64))
    return np.column_stack([_EARTH_M * lon_r * np.cos(np.radians(lat0)), _EARTH_M * lat_r])


def _is_store(source: object) -> bool:
    return hasattr(source, "points") and hasattr(source, "cell_context")


def localities_of(source: object) -> pd.DataFrame:
    """The naming localities of a source: ``nome``, ``tipo``, ``pro_com_t``, ``lat``, ``lon``.

    ``source`` is a :class:`geo.data.storage.Store` (its ``localities`` table), a
    :class:`geo.data.territory.Territory` (its localities layer) or a frame with those columns.
    """
    if _is_store(source):
        frame = source.points("localities")
    elif hasattr(source, "localities") and hasattr(source, "comuni"):
        gdf = source.localities
        frame = pd.DataFrame(gdf.drop(columns="geometry"))
        frame["lat"], frame["lon"] = gdf.geometry.y.to_numpy(), gdf.geometry.x.to_numpy()
    else:
        frame = pd.DataFrame(source)
    if frame.empty:
        return pd.DataFrame(columns=["nome", "tipo", "pro_com_t", "lat", "lon"])
    frame = frame.assign(nome=frame["nome"].astype("string").str.strip())
    frame = frame[frame["tipo"].isin(PLACE_KINDS) & frame["nome"].notna() & (frame["nome"] != "")]
    if "pro_com_t" not in frame:
        frame = frame.assign(pro_com_t=None)
    # a fixed order, so that ties between equally near localities always resolve the same way
    frame = frame.sort_values(["pro_com_t", "nome", "lat", "lon"], na_position="last", kind="stable")
    return frame[["nome", "tipo", "pro_com_t", "lat", "lon"]].reset_index(drop=True)


def _comune_names(source: object) -> dict[str, str]:
    if _is_store(source):
        c = source.comuni()
    elif hasattr(source, "comuni") and hasattr(source, "localities"):
        c = source.comuni
    else:
        return {}
    return dict(zip(c["pro_com_t"].astype(str), c["nome"].astype(str), strict=True))


def _cell_comuni(source: object, cells: np.ndarray) -> np.ndarray:
    """Comune of each cell from the source: the database's cell context (the comune holding most
    of the cell), or the comune polygon holding the cell's centre; None when unknown."""
    out = np.full(cells.size, None, dtype=object)
    if cells.size == 0:
        return out
    if _is_store(source):
        res = hexgrid.cell_resolution(cells)
        for r in np.unique(res):
            ctx = source.cell_context(int(r)).set_index("cell")["pro_com_t"]
            mask = res == r
            out[mask] = pd.Series(cells[mask]).map(ctx).to_numpy(dtype=object)
    elif hasattr(source, "comuni") and hasattr(source, "localities"):
        import geopandas as gpd

        lat, lon = hexgrid.cell_centers(cells)
        pts = gpd.GeoDataFrame({"i": np.arange(cells.size)}, geometry=gpd.points_from_xy(lon, lat), crs=4326)
        hit = gpd.sjoin(pts, source.comuni[["pro_com_t", "geometry"]], how="inner", predicate="within")
        hit = hit.drop_duplicates("i")
        out[hit["i"].to_numpy()] = hit["pro_com_t"].to_numpy(dtype=object)
    return np.array([None if pd.isna(v) else str(v) for v in out], dtype=object)


def place_label(place: object, comune: object) -> str:
    """"Marina di Carrara (Carrara)"; "Carrara" when the place is the comune itself or the comune is
    unknown; the comune alone without a place; "" without either."""
    place = place if isinstance(place, str) and place else None
    comune = comune if isinstance(comune, str) and comune else None
    if place is None:
        return comune or ""
    if comune is None or place == comune or place == NEAR_PREFIX + comune:
        return place
    return f"{place} ({comune})"


def locate(source: object, cells: Sequence[int] | np.ndarray | pd.Series, *,
           comuni: Sequence[str | None] | np.ndarray | pd.Series | Mapping | None = None,
           far_m: float = FAR_M, localities: pd.DataFrame | None = None,
           comune_names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The place of each cell, one row per cell in the given order.

    Parameters
    ----------
    source
        A Store, a Territory, or a localities frame (``nome``, ``tipo``, ``pro_com_t``, ``lat``,
        ``lon``; then the comune names are unknown and labels carry none).
    cells
        H3 cells (int64, any resolution).
    comuni
        ``pro_com_t`` of each cell (aligned with ``cells``, or a mapping cell → code); by default
        from the source (database cell context or comune polygons).
    far_m
        Reach of a locality (metres) beyond which the place is "presso <locality>"
        (:data:`REACH_M` for towns and cities, when larger).
    localities
        Already loaded :func:`localities_of` frame (saves a query when naming many sets of cells).
    comune_names
        ``pro_com_t`` → name, by default from the source (none for a localities frame).

    Returns
    -------
    DataFrame
        :data:`LOCATE_COLUMNS`: ``cell``, ``pro_com_t``, ``comune`` (name), ``locality`` (the
        nearest locality's name), ``distance_m`` (to it), ``place`` (``locality`` or "presso
        <locality>", the comune's name without localities) and ``label`` (:func:`place_label`).
    """
    cells = np.asarray(cells, dtype=np.int64)
    n = cells.size
    loc = localities if localities is not None else localities_of(source)
    names = dict(comune_names) if comune_names is not None else _comune_names(source)
    if comuni is None:
        codes = _cell_comuni(source, cells)
    elif isinstance(comuni, Mapping) or (isinstance(comuni, pd.Series) and len(comuni) != n):
        codes = pd.Series(cells).map(comuni).to_numpy(dtype=object)  # a mapping cell -> code
    else:
        codes = np.asarray(comuni, dtype=object)
    # comune codes as small integers (-1: unknown): the text work below is done once per
    # distinct (comune, locality, far) combination, not once per cell
    code_ids, code_values = pd.factorize(pd.Series(codes, dtype=object))
    code_values = [str(v) for v in code_values]
    pick = np.full(n, -1, dtype=np.int64)
    distance = np.full(n, np.nan)
    far = np.zeros(n, dtype=bool)
    if n and len(loc):
        lat, lon = hexgrid.cell_centers(cells)
        lat0 = float(np.mean(loc["lat"]))
        xy = _project(lat, lon, lat0)
        lxy = _project(loc["lat"].to_numpy(), loc["lon"].to_numpy(), lat0)
        loc_codes = loc["pro_com_t"].map(lambda v: None if v is None or pd.isna(v) else str(v)).to_numpy(dtype=object)
        loc_reach = np.maximum(far_m, loc["tipo"].map(REACH_M).fillna(far_m).to_numpy(dtype=np.float64))
        for k in np.unique(code_ids):
            idx = np.flatnonzero(code_ids == k)
            cand = np.flatnonzero(loc_codes == code_values[k]) if k >= 0 else np.arange(len(loc))
            if cand.size == 0:
                continue
            d, j = cKDTree(lxy[cand]).query(xy[idx])
            pick[idx] = cand[np.asarray(j, dtype=np.int64)]
            distance[idx] = d
        far = (pick >= 0) & (distance > loc_reach[np.maximum(pick, 0)] if len(loc) else False)
    loc_names = loc["nome"].astype(str).to_numpy(dtype=object) if len(loc) else np.array([], dtype=object)
    combo = pd.DataFrame({"code": code_ids, "pick": pick, "far": far})
    combo_ids, uniques = pd.factorize(pd.MultiIndex.from_frame(combo))
    rows = []
    for code_k, pick_k, far_k in uniques:
        code = code_values[code_k] if code_k >= 0 else None
        comune = names.get(code) if code is not None else None
        locality = str(loc_names[pick_k]) if pick_k >= 0 else None
        place = (NEAR_PREFIX + locality if far_k else locality) if locality is not None else comune
        rows.append((code, comune, locality, place, place_label(place, comune)))
    table = pd.DataFrame(rows, columns=["pro_com_t", "comune", "locality", "place", "label"], dtype=object)
    out = table.iloc[combo_ids].reset_index(drop=True).astype(object)
    out = out.where(out.notna(), None)
    out.insert(0, "cell", cells)
    out["distance_m"] = distance
    return out[LOCATE_COLUMNS]


def place_names(source: object, cells: Sequence[int] | np.ndarray | pd.Series, *,
                comuni: Sequence[str | None] | np.ndarray | pd.Series | Mapping | None = None,
                far_m: float = FAR_M) -> pd.Series:
    """Name of the place of each cell (:func:`locate`'s ``place``), indexed by cell.

    "Marina di Carrara", "presso Codiponte" (beyond the locality's reach), the comune's name
    where the comune has no locality, None where nothing is known."""
    found = locate(source, cells, comuni=comuni, far_m=far_m)
    return pd.Series(found["place"].to_numpy(dtype=object), index=pd.Index(found["cell"], name="cell"),
                     name="place")


def place_labels(source: object, cells: Sequence[int] | np.ndarray | pd.Series, *,
                 comuni: Sequence[str | None] | np.ndarray | pd.Series | Mapping | None = None,
                 far_m: float = FAR_M) -> pd.Series:
    """"Place (Comune)" of each cell (:func:`place_label`), indexed by cell."""
    found = locate(source, cells, comuni=comuni, far_m=far_m)
    return pd.Series(found["label"].to_numpy(dtype=object), index=pd.Index(found["cell"], name="cell"),
                     name="label")
