"""Coverage of the existing cameras over incidents, hot spots, reports, schools and zones.

:func:`analyse` reads the store and returns a :class:`CoverageAnalysis`:

* ``cells`` — resolution-10 cells with incidents or near a camera: ``coverage`` (area fraction
  inside the union of the footprints), ``incidents`` and ``incidents_year`` (cell-key protected
  for roles without clearance, :mod:`geo.access.disclosure`), ``hot`` (the cell's resolution-9
  hexagon is a Gi* hot spot, :func:`geo.zones.hotspots.gi_star`);
* ``hexes`` — resolution-9 hexagons: coverage fraction, incidents, Gi* class;
* ``kpis`` — shares inside coverage: incidents (each cell's count weighted by its covered
  fraction), hot spots (mean coverage of the hot hexagons), open reports and schools (points
  inside the footprints), territory area;
* ``by_group`` — the share of incidents inside coverage per crime family and time band;
* ``uncovered_hot`` — hot hexagons less than :data:`UNCOVERED_BELOW` covered, by incidents.

:func:`pilot_zones` delineates the pilot zones of the default priority preset
(:mod:`geo.zones.pilot`, resolution 9) and :func:`pilot_zone_coverage` gives the covered share of
each (area only: no incident count, nothing to protect).

Every figure about incidents is derived from the counts ``role`` may see. The footprints of
police cameras count in the coverage for every role (the shares do not say where a camera is);
the map shows them per hexagon only (:mod:`geo.cameras.inventory`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.access.disclosure import protect_columns
from geo.access.privacy import can_see_exact
from geo.cameras import coverage as cov
from geo.cameras.inventory import load_cameras
from geo.data import hexgrid
from geo.data.filters import Filters
from geo.data.schemas import OPEN_REPORT_STATUS, TIME_BANDS
from geo.lighting.effects import FAMILIES
from geo.zones import pilot
from geo.zones.hotspots import HOT, contiguity_weights, gi_star
from geo.zones.priority import DEFAULT_PRESET, preset_weights

#: A hot hexagon covered less than this (area fraction) is "uncovered".
UNCOVERED_BELOW = 0.10
HEX_RES = 9


@dataclass
class CoverageAnalysis:
    """See the module notes. Plain frames (picklable, cacheable)."""

    cells: pd.DataFrame
    hexes: pd.DataFrame
    kpis: dict
    by_group: pd.DataFrame
    uncovered_hot: pd.DataFrame
    schools: pd.DataFrame
    covered: shapely.Geometry
    months: int
    protected: bool
    comuni: dict[str, str] = field(default_factory=dict)


def months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _incidents(store, res: int, role: str | None, **kw) -> pd.DataFrame:
    rows = store.incidents_by_cell(res, **kw)
    if role is not None and not can_see_exact(role):
        rows = protect_columns(rows, ("incidents",), role)
    return rows[["cell", "incidents"]].astype({"cell": np.int64, "incidents": np.int64})


def cells_near(cameras: pd.DataFrame, ranges: np.ndarray) -> np.ndarray:
    """Resolution-10 cells within reach of the cameras (a disk of rings wide enough for the range)."""
    if cameras.empty:
        return np.zeros(0, dtype=np.int64)
    out = []
    for cell, r in zip(cameras["cell"].to_numpy(dtype=np.int64), ranges, strict=True):
        out.append(hexgrid.neighbours(int(cell), math.ceil(float(r) / 100.0) + 1))
    return np.unique(np.concatenate(out))


def analyse(store, metric_crs: str, *, role: str | None, comuni: Sequence[str] | None = None,
            start: date | None = None, end: date | None = None, cameras: pd.DataFrame | None = None,
            buildings: gpd.GeoDataFrame | None = None, zones: dict[str, np.ndarray] | None = None
            ) -> CoverageAnalysis:
    """Coverage analysis of the territory (or of ``comuni``) for ``role``.

    ``cameras`` replaces the stored inventory (e.g. the inventory plus a plan); ``buildings`` cuts
    the footprints; ``zones`` (name → resolution-9 cells) adds their coverage to ``kpis["zones"]``.
    """
    comuni = list(comuni) if comuni else None
    period = store.period()
    start = start or (period[0] if period else date.today().replace(day=1))
    end = end or (period[1] if period else start)
    months = months_between(start, end)
    cams = load_cameras(store, comuni=comuni) if cameras is None else cameras
    foot = cov.footprints(cams, metric_crs, buildings=buildings)
    covered = cov.union(foot.geometry)
    kw = {"comuni": comuni, "start": start, "end": end}
    inc = _incidents(store, 10, role, **kw).set_index("cell")["incidents"]
    near = cells_near(cams, foot["range_m"].to_numpy()) if len(cams) else np.zeros(0, dtype=np.int64)
    context10 = store.cell_context(10, comuni=comuni).set_index("cell")
    near = near[np.isin(near, context10.index.to_numpy())]
    frac_near = cov.cell_coverage(covered, near, metric_crs)
    all_cells = np.union1d(inc.index.to_numpy(dtype=np.int64), near)
    cells = pd.DataFrame(index=pd.Index(all_cells, name="cell"))
    cells["pro_com_t"] = context10["pro_com_t"].reindex(all_cells).to_numpy()
    cells["coverage"] = frac_near.reindex(all_cells).fillna(0.0).to_numpy()
    cells["incidents"] = inc.reindex(all_cells).fillna(0).astype(np.int64).to_numpy()
    cells["incidents_year"] = cells["incidents"] * 12.0 / months

    # hot spots on resolution-9 hexagons (every hexagon of the territory, zeros included)
    context9 = store.cell_context(HEX_RES, comuni=comuni)
    hex_cells = context9["cell"].to_numpy(dtype=np.int64)
    inc9 = _incidents(store, HEX_RES, role, **kw).set_index("cell")["incidents"].reindex(hex_cells).fillna(0)
    hot = gi_star(hex_cells, inc9.to_numpy(), w=contiguity_weights(hex_cells))
    parents = hexgrid.cell_to_parent(all_cells, HEX_RES)
    area10 = hexgrid.cell_area_km2(10)
    cov9 = (pd.Series(cells["coverage"].to_numpy() * area10, index=parents).groupby(level=0).sum())
    hexes = pd.DataFrame({"cell": hex_cells, "pro_com_t": context9["pro_com_t"].to_numpy(),
                          "incidents": inc9.to_numpy().astype(np.int64),
                          "area_km2": context9["area_km2"].to_numpy(),
                          "hotspot": hot["hotspot"].reindex(hex_cells).to_numpy(),
                          "z": hot["z"].reindex(hex_cells).to_numpy()})
    hexes["coverage"] = np.clip(cov9.reindex(hex_cells).fillna(0).to_numpy() / hexes["area_km2"].to_numpy(), 0, 1)
    hot_set = set(hexes.loc[hexes["hotspot"] == HOT, "cell"].tolist())
    cells["hot"] = [int(p) in hot_set for p in parents]

    # point layers
    chosen = comuni
    reports = store.points("reports", comuni=chosen)
    reports = reports[reports["status"].isin(OPEN_REPORT_STATUS)] if len(reports) else reports
    schools = store.points("schools", comuni=chosen)
    rep_in = cov.points_covered(reports["lon"].to_numpy(), reports["lat"].to_numpy(), covered, metric_crs)
    sch_in = cov.points_covered(schools["lon"].to_numpy(), schools["lat"].to_numpy(), covered, metric_crs)
    schools = schools[["code", "name", "level", "pro_com_t", "lon", "lat", "cell", "synthetic"]].assign(
        covered=sch_in)

    hot_hex = hexes[hexes["hotspot"] == HOT]
    territory_km2 = float(context10["n_cells"].sum() * area10) if "n_cells" in context10 else 0.0
    kpis = {
        "cameras": len(cams),
        "cameras_covering": int(foot["covering"].sum()) if len(foot) else 0,
        "covered_km2": float(shapely.area(covered)) / 1e6,
        "territory_km2": territory_km2,
        "incidents_share": cov.weighted_share(cells["coverage"], cells["incidents"]),
        "incidents_covered_year": float((cells["coverage"] * cells["incidents_year"]).sum()),
        "hot_total": len(hot_hex),
        "hot_share": float(hot_hex["coverage"].mean()) if len(hot_hex) else float("nan"),
        "reports_total": len(reports), "reports_covered": int(rep_in.sum()),
        "schools_total": len(schools), "schools_covered": int(sch_in.sum()),
    }
    if zones:
        kpis["zones"] = cov.zone_coverage(zones, covered, metric_crs)
    by_group = _by_group(store, role, cells["coverage"], kw)
    uncovered = hot_hex[hot_hex["coverage"] < UNCOVERED_BELOW].sort_values(
        ["incidents", "cell"], ascending=[False, True]).reset_index(drop=True)
    names = store.comuni()
    return CoverageAnalysis(cells=cells.reset_index(), hexes=hexes, kpis=kpis, by_group=by_group,
                            uncovered_hot=uncovered, schools=schools, covered=covered, months=months,
                            protected=role is not None and not can_see_exact(role),
                            comuni=dict(zip(names["pro_com_t"], names["nome"], strict=True)))


def _by_group(store, role: str | None, coverage: pd.Series, kw: dict) -> pd.DataFrame:
    """Share of incidents inside coverage per crime family and time band (one protected query each)."""
    rows = []
    for fam in FAMILIES:
        for band, band_label in TIME_BANDS.items():
            inc = _incidents(store, 10, role, categories=list(fam.categories), time_band=band, **kw)
            frac = coverage.reindex(inc["cell"].to_numpy()).fillna(0.0).to_numpy()
            total = int(inc["incidents"].sum())
            rows.append({"family": fam.key, "family_label": fam.label, "band": band, "band_label": band_label,
                         "incidents": total, "covered": float((frac * inc["incidents"].to_numpy()).sum()),
                         "share": cov.weighted_share(frac, inc["incidents"].to_numpy())})
    return pd.DataFrame(rows)


def pilot_zones(store, *, comuni: Sequence[str] | None = None, top: int = pilot.DEFAULT_TOP,
                preset: str = DEFAULT_PRESET) -> dict[str, np.ndarray]:
    """The ``top`` pilot zones of ``preset`` (zone id and place, "Z-7K3M – Marina di Carrara
    (Carrara)", → resolution-9 cells), as the Zone pilota page delineates them with its default
    bounds (robustness draws skipped)."""
    prep = pilot.prepare(store, Filters(res=HEX_RES, comuni=tuple(comuni or ())))
    result = pilot.rank_zones(prep, preset_weights(preset), top=top, draws=1)
    labels = result.hexes["zone"]
    return {f"{row.zone} – {row.name}": labels.index[labels == row.rank].to_numpy(dtype=np.int64)
            for row in result.zones.head(top).itertuples()}


def pilot_zone_coverage(zones: dict[str, np.ndarray], analysis: CoverageAnalysis, metric_crs: str
                        ) -> pd.DataFrame:
    """Covered share of each pilot zone: ``zone``, ``pro_com_t`` (the comune holding most of its
    hexagons), ``area_km2``, ``covered_km2``, ``share``."""
    out = cov.zone_coverage(zones, analysis.covered, metric_crs)
    comune_of = analysis.hexes.set_index("cell")["pro_com_t"]
    main = [comune_of.reindex(zones[z]).dropna().mode() for z in out["zone"]]
    out.insert(1, "pro_com_t", [m.iat[0] if len(m) else None for m in main])
    return out
