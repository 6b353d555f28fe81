"""Residents per H3 cell: dasymetric distribution of the official comune totals.

Rates per 1,000 residents need residents per hexagon, but Italy publishes population per comune
(the ISTAT 1 km grid and census sections were not available for the bundled territory). Each
comune's official total is spread over its resolution-10 cells in proportion to a settlement
surface built from its localities:

    w(c) = sum over localities l of  W(l) * exp(-d(c, l)^2 / (2 * s(l)^2)),   d(c, l) < 3 s(l)

where ``W(l)`` is the locality's weight (its population when the source gives one, else a weight
by kind, :data:`KIND_WEIGHTS`) and ``s(l)`` its spread in metres (:data:`KIND_SPREAD_M`). Cells
with ``w(c)`` under 1 % of the comune's highest cell are treated as unsettled. Totals per comune
are then scaled to the official figure, so cell totals add up exactly to it. A comune without
localities gets a uniform distribution. When a territory ships a real population grid
(``popolazione_griglia.csv``), :func:`grid_population` replaces this estimate.

The kind weights and spreads are assumptions, chosen so that a city centre holds tens of times the
residents of a hamlet and spreads over about 2 km, a village over a few hundred metres.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.data import hexgrid

#: Relative weight of a locality of each kind when its population is unknown.
KIND_WEIGHTS: dict[str, float] = {
    "citta": 40.0,
    "capoluogo": 40.0,
    "paese": 6.0,
    "sede_comunale": 6.0,
    "quartiere": 6.0,
    "frazione": 1.5,
    "localita": 0.6,
}
#: Spread (standard deviation of the Gaussian kernel, metres) of each kind of locality.
KIND_SPREAD_M: dict[str, float] = {
    "citta": 1800.0,
    "capoluogo": 1800.0,
    "paese": 1200.0,
    "sede_comunale": 650.0,
    "quartiere": 700.0,
    "frazione": 300.0,
    "localita": 220.0,
}
SETTLED_MIN_SHARE = 0.01
METHOD = "dasimetrico: località pesate per tipo (kernel gaussiano)"


def locality_weights(localities: pd.DataFrame) -> pd.DataFrame:
    """Weight ``w`` and spread ``spread_m`` of each populated locality (non-populated kinds dropped).

    A known population replaces the kind weight, expressed in the same unit (a weight of 1 is
    about 250 residents, the typical size of a ``frazione`` in the Apennines).
    """
    loc = localities[localities["tipo"].isin(KIND_WEIGHTS)].copy()
    pop = pd.to_numeric(loc.get("abitanti"), errors="coerce")
    loc["w"] = np.where(pop > 0, pop / 250.0, loc["tipo"].map(KIND_WEIGHTS))
    loc["spread_m"] = loc["tipo"].map(KIND_SPREAD_M)
    return loc


def dasymetric_population(
    cells: pd.DataFrame,
    comuni_population: pd.DataFrame,
    localities: gpd.GeoDataFrame,
    *,
    metric_crs: str,
) -> pd.Series:
    """Residents per resolution-10 cell.

    Parameters
    ----------
    cells
        ``cell`` (int64, resolution 10) and ``pro_com_t`` of every cell of the territory.
    comuni_population
        ``pro_com_t`` and ``residenti`` (official totals).
    localities
        Points with ``tipo``, ``abitanti`` and ``pro_com_t`` (WGS84).
    metric_crs
        Projected CRS for distances in metres.

    Returns
    -------
    pandas.Series
        Residents (float) aligned on ``cells.index``; sums per comune equal ``residenti``.
    """
    lat, lon = hexgrid.cell_centers(cells["cell"].to_numpy())
    centres = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(metric_crs)
    cx, cy = centres.x.to_numpy(), centres.y.to_numpy()
    loc = locality_weights(localities)
    loc_m = loc.to_crs(metric_crs) if len(loc) else loc
    totals = comuni_population.set_index("pro_com_t")["residenti"]
    out = np.zeros(len(cells), dtype=np.float64)
    codes = cells["pro_com_t"].to_numpy()
    for code, total in totals.items():
        idx = np.flatnonzero(codes == code)
        if idx.size == 0:
            continue
        mine = loc_m[loc_m["pro_com_t"] == code] if len(loc_m) else loc_m
        weights = np.zeros(idx.size)
        for geom, w, s in zip(mine.geometry, mine["w"], mine["spread_m"], strict=True):
            d2 = (cx[idx] - geom.x) ** 2 + (cy[idx] - geom.y) ** 2
            near = d2 < (3 * s) ** 2
            weights[near] += w * np.exp(-d2[near] / (2 * s * s))
        if weights.max(initial=0) <= 0:
            weights = np.ones(idx.size)
        weights[weights < SETTLED_MIN_SHARE * weights.max()] = 0.0
        out[idx] = total * weights / weights.sum()
    return pd.Series(out, index=cells.index, name="residents")


def grid_population(cells: pd.DataFrame, grid: pd.DataFrame, comuni_population: pd.DataFrame) -> pd.Series:
    """Residents per cell from a real population grid (``cell`` at resolution 10 or ``lat``/``lon``
    points, and ``residenti``), rescaled per comune so totals still equal the official figures."""
    if "cell" in grid.columns:
        grid_cells = hexgrid.from_str(grid["cell"].astype(str))
    else:
        grid_cells = hexgrid.points_to_cells(grid["lat"].to_numpy(float), grid["lon"].to_numpy(float), 10)
    by_cell = pd.Series(grid["residenti"].to_numpy(float), index=grid_cells).groupby(level=0).sum()
    raw = cells["cell"].map(by_cell).fillna(0.0).to_numpy()
    out = np.zeros(len(cells))
    codes = cells["pro_com_t"].to_numpy()
    for code, total in comuni_population.set_index("pro_com_t")["residenti"].items():
        idx = np.flatnonzero(codes == code)
        s = raw[idx].sum()
        out[idx] = total * (raw[idx] / s if s > 0 else 1.0 / max(idx.size, 1))
    return pd.Series(out, index=cells.index, name="residents")
