"""Start an intervention from a pilot zone (Zone pilota) or a lighting plan (Illuminazione).

A :class:`Draft` holds what the form on those pages (and ``python -m geo interventi crea
--da-zona / --da-piano``) prefills: kind, a title naming the zone or the plan, the cells, their
resolution, the comune, the cost and the start date. :func:`can_start` says whether a user may
register it (``manage_interventions`` in every comune the cells touch), :func:`create_from_draft`
registers it through :func:`geo.interventions.register.create_intervention` (audited).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from geo.access.permissions import User, allows, require
from geo.access.privacy import format_int
from geo.data.filters import Filters
from geo.data.storage import Store
from geo.interventions.register import InterventionError, create_intervention


@dataclass(frozen=True)
class Draft:
    kind: str
    title: str
    cells: tuple[int, ...]
    res: int
    pro_com_t: str | None
    comuni: tuple[str, ...]          # every comune the cells touch (for the permission check)
    start: date
    cost_eur: float | None = None
    notes: str = ""
    report_ids: tuple[str, ...] = ()


def cell_comuni(store: Store, cells: Iterable[int], res: int) -> pd.Series:
    """Number of ``cells`` per comune (the comune holding most of each cell's area), most first."""
    wanted = {int(c) for c in cells}
    ctx = store.cell_context(res)
    ctx = ctx[ctx["cell"].astype("int64").isin(wanted)]
    counts = ctx.groupby("pro_com_t").size()
    return counts.sort_index().sort_values(ascending=False, kind="stable")


def zone_draft(store: Store, zones: pd.DataFrame, zone: str, res: int, *, today: date | None = None) -> Draft:
    """The draft for pilot zone ``zone`` ("Z-7K3M"…) of a ranking (``ZoneResult.zones``): kind
    ``zona_pilota``, its cells, its main comune (most hexagons), a title naming the zone."""
    rows = zones[zones["zone"] == zone]
    if rows.empty:
        raise InterventionError(f"Zona {zone} non presente nella classifica.")
    row = rows.iloc[0]
    cells = tuple(sorted(int(c) for c in row["cells"]))
    comuni = cell_comuni(store, cells, res)
    # the zone's place ("Marina di Carrara (Carrara)") when the ranking names it, else its comuni
    names = str(row["name"]) if isinstance(row.get("name"), str) and row["name"] else ", ".join(
        str(n) for n in row["comuni"])
    return Draft(kind="zona_pilota", title=f"Zona pilota {zone} – {names}", cells=cells, res=int(res),
                 pro_com_t=str(comuni.index[0]) if len(comuni) else None,
                 comuni=tuple(str(c) for c in comuni.index), start=today or date.today(),
                 notes=f"Avviato dalla zona pilota {zone} (rango {int(row['rank'])}).")


def plan_draft(plan, res: int, *, names: dict[str, str] | None = None, today: date | None = None) -> Draft:
    """The draft for a lighting plan (:class:`geo.lighting.plan.Plan`): kind ``illuminazione``, the
    chosen hexagons, cost = the plan's cost, the comune when the plan is in one comune (else None)."""
    sel = plan.selected
    if sel is None or sel.empty:
        raise InterventionError("Il piano non contiene interventi: nessun esagono da avviare.")
    cells = tuple(sorted({int(c) for c in sel["cell"]}))
    comuni = tuple(sorted({str(c) for c in sel["pro_com_t"]}))
    cost = float(plan.totals.get("cost_eur", sel["cost_eur"].sum()))
    where = (names or {}).get(comuni[0], comuni[0]) if len(comuni) == 1 else f"{len(comuni)} comuni"
    return Draft(kind="illuminazione", title=f"Piano di illuminazione – {where}, {format_int(cost)} €",
                 cells=cells, res=int(res), pro_com_t=comuni[0] if len(comuni) == 1 else None, comuni=comuni,
                 start=today or date.today(), cost_eur=cost,
                 notes=f"Avviato dal piano di illuminazione: {len(sel)} interventi su {len(cells)} esagoni.")


def can_start(user: User | None, draft: Draft | None = None) -> bool:
    """True when ``user`` may register interventions (for ``draft``: in every comune it touches)."""
    if draft is None:
        return allows(user, "manage_interventions")
    return allows(user, "manage_interventions", pro_com_t=draft.comuni or draft.pro_com_t)


def create_from_draft(store: Store, actor: User | None, draft: Draft, **changes) -> str:
    """Register ``draft`` (with the form's ``changes``: title, start, cost_eur, responsible, status,
    report_ids); returns the new id. A role limited to its own comuni must own every comune."""
    responsible = changes.pop("responsible", "")
    status = changes.pop("status", "programmato")
    final = dataclasses.replace(draft, **changes)
    require(actor, "manage_interventions", pro_com_t=final.comuni or final.pro_com_t)
    return create_intervention(store, actor, kind=final.kind, title=final.title, cells=final.cells, res=final.res,
                               start=final.start, cost_eur=final.cost_eur, responsible=responsible, status=status,
                               report_ids=final.report_ids, pro_com_t=final.pro_com_t, notes=final.notes)


# --------------------------------------------------------------------------------------------
# The rankings the command line starts from (same calls as ``rank zones`` / ``rank lighting``)
# --------------------------------------------------------------------------------------------

def zone_ranking(store: Store, *, preset: str, res: int, comuni: Sequence[str] = (), seed: int = 0):
    """The pilot-zone ranking of ``python -m geo rank zones --profilo PRESET`` (default bounds)."""
    from geo.zones import pilot
    from geo.zones.priority import preset_weights

    prep = pilot.prepare(store, Filters(res=res, comuni=tuple(comuni)))
    return pilot.rank_zones(prep, preset_weights(preset), seed=seed)


def lighting_plan(store: Store, *, budget: float, res: int, comuni: Sequence[str] = (), role: str | None = None):
    """The optimal lighting plan of ``python -m geo rank lighting --budget B`` (default parameters)."""
    from geo.lighting.need import lighting_need
    from geo.lighting.plan import PlanOptions, build_candidates, optimise

    need = lighting_need(store, res=res, comuni=tuple(comuni), role=role)
    return optimise(build_candidates(need), PlanOptions(budget=float(budget)))


#: Largest drawn area of an intervention (km²): a neighbourhood, not a comune.
MAX_AREA_KM2 = 25.0


def area_cells(area: object, res: int, *, territory_cells: Iterable[int] | None = None) -> tuple[int, ...]:
    """The hexagons of a drawn area (``st_folium``'s GeoJSON geometry or Feature of a polygon or
    rectangle): those whose centre is inside it, or the one holding its centre when the area is
    smaller than a hexagon; only cells of the territory when ``territory_cells`` is given.
    ``InterventionError`` in Italian for anything that is not one simple polygon, or too large."""
    import shapely
    import shapely.geometry

    from geo.data import hexgrid

    try:
        geometry = area.get("geometry", area) if isinstance(area, dict) else area
        geom = shapely.geometry.shape(geometry)
    except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
        raise InterventionError("L'area disegnata non è valida.") from exc
    if not isinstance(geom, shapely.Polygon) or geom.is_empty or not geom.is_valid:
        raise InterventionError("L'area disegnata deve essere un poligono semplice (senza intersezioni).")
    lat = math.radians(geom.centroid.y)  # area on a local plane, before asking H3 for any cell
    km2 = geom.area * (111.32 ** 2) * math.cos(lat)
    if km2 > MAX_AREA_KM2:
        raise InterventionError(f"L'area disegnata è troppo grande (circa {format_int(km2)} km²): al massimo "
                                f"{format_int(MAX_AREA_KM2)} km² per intervento.")
    cells = hexgrid.polygon_to_cells(geom, res)
    if not len(cells):
        c = geom.centroid
        cells = hexgrid.points_to_cells(np.array([c.y]), np.array([c.x]), res)
    if territory_cells is not None:
        inside = {int(x) for x in territory_cells}
        cells = [c for c in cells if int(c) in inside]
        if not cells:
            raise InterventionError("L'area disegnata è fuori dal territorio.")
    return tuple(sorted(int(c) for c in cells))


def area_map(comuni: pd.DataFrame, *, tiles: str = "none", assets_url: str | None = None):
    """The map on which an intervention's area is drawn: the comuni's boundaries and Leaflet.draw
    (polygons and rectangles; served from the local copy, so drawing works offline)."""
    import folium.plugins
    import shapely

    from geo.maps import layers as maps

    m = maps.base_map(tiles=tiles, assets_url=assets_url, comuni=comuni)
    if len(comuni):
        x0, y0, x1, y1 = shapely.total_bounds(maps.comuni_shapes(comuni))
        bounds = [[y0, x0], [y1, x1]]
        maps.OutlineLayer(maps.comuni_features(comuni), name="Confini comunali",
                          style={"color": "#1f2937", "weight": 2, "opacity": 0.9}, bounds=bounds).add_to(m)
        m.fit_bounds(bounds)
    draw = folium.plugins.Draw(
        export=False, position="topleft",
        draw_options={"polyline": False, "circle": False, "circlemarker": False, "marker": False,
                      "polygon": {"allowIntersection": False, "showArea": True}, "rectangle": True},
        edit_options={"edit": False, "remove": False})
    maps.use_draw_assets(draw, assets_url).add_to(m)
    return m
