"""What the Illuminazione page draws, built here so that the page only places it: the need layer
(features, classes, legend), the plan layer, the base map and the frontier chart, with Italian
labels and number formats. Data strings reaching HTML are escaped."""

from __future__ import annotations

import html
import math

import altair as alt
import folium
import numpy as np
import pandas as pd

from geo.access.privacy import format_decimal, format_int
from geo.data import hexgrid
from geo.lighting.plan import KINDS
from geo.lighting.report import hex_ring
from geo.maps import layers as maps
from geo.maps.classes import NO_DATA, NO_DATA_COLOR, classify

#: Hexagons above which the need layer keeps only the ones with the highest potential.
MAX_NEED_CELLS = 6000
#: Colours of the plan layer by kind (Okabe-Ito, colour-blind safe, away from the need layer's
#: yellow-red ramp): repair, LED, new points, several kinds; plan hexagons also get a dark outline.
KIND_COLORS = {0: "#0072B2", 1: "#009E73", 2: "#CC79A7", 3: "#56B4E9"}
KIND_ORDER = list(KINDS)

BASIS_UNITS = {"strade": "km di strada", "residenti": "residenti / 1.000", "area": "km² abitati"}
NEED_METRICS: dict[str, tuple[str, bool]] = {
    "potential": ("Delitti evitabili/anno con tutti gli interventi (centrale)", True),
    "night_outdoor_year": ("Delitti notturni all'aperto per anno", True),
    "coverage": ("Punti luce funzionanti rispetto all'obiettivo", False),
    "broken_share": ("Quota di punti luce guasti", True),
    "old_share": ("Quota di tecnologie vecchie (mercurio, sodio…)", True),
    "demand_points": ("Domanda di sicurezza percepita (punti)", True),
}
TOOLTIP_LABELS = ["", "Residenti", "Punti luce (funzionanti/totali)", "Guasti", "Tecnologie vecchie",
                  "Obiettivo (punti luce)", "Sottoilluminato", "Distanza dal centro", "Delitti notturni all'aperto",
                  "Domanda percepita (punti)", "Valore mostrato"]
PLAN_TOOLTIP_LABELS = ["", "Interventi", "Costo", "Delitti evitati/anno (basso–alto)"]


def need_layer_data(need: pd.DataFrame, candidates: pd.DataFrame, metric: str, names: dict[str, str]) -> dict:
    """The need layer's features (serialised), classes and legend: plain data a page can cache,
    rebuilt only when the need, the metric or the clearance change, never on a budget change."""
    frame = need_frame(need, candidates)
    frame = frame[(frame["potential"] > 0) | (frame["lights"] > 0) | (frame["night_outdoor"] > 0)]
    truncated = len(frame) > MAX_NEED_CELLS
    if truncated:
        frame = frame.nlargest(MAX_NEED_CELLS, ["potential", "lights"])
    frame = frame.reset_index(drop=True)
    label, worse = NEED_METRICS[metric]
    classes = classify(frame[metric], k=5, higher_is_worse=worse, integer=False, fmt=_legend_format(metric))
    texts = []
    for row in frame.to_dict("records"):
        value = _metric_text(metric, row[metric])
        texts.append([
            html.escape(f"{names.get(row['pro_com_t'], row['pro_com_t'])} · {row['h3']}"),
            format_int(row["residents"]),
            f"{format_int(row['working'])}/{format_int(row['lights'])}",
            format_int(row["broken"]),
            format_int(row["old"]),
            format_decimal(row["target_points"], 1),
            "sì" if row["under_lit"] else "no",
            f"{format_decimal(row['distance_km'], 1)} km" + (" (periferia)" if row["outskirts"] else ""),
            format_int(row["night_outdoor"]),
            format_decimal(row["demand_points"], 1),
            html.escape(value),
        ])
    features = [{"type": "Feature", "properties": {"k": int(k), "t": t},
                 "geometry": {"type": "Polygon", "coordinates": [hex_ring(int(c))]}}
                for c, k, t in zip(frame["cell"], classes.classes, texts, strict=True)]
    lats, lons = hexgrid.cell_centers(frame["cell"].to_numpy())
    colors = {str(i): c for i, c in enumerate(classes.colors)} | {str(NO_DATA): NO_DATA_COLOR}
    entries = list(zip(classes.colors, classes.labels, strict=True))
    codes = set(classes.classes.unique())
    if NO_DATA in codes:
        entries.append((NO_DATA_COLOR, "Non calcolabile"))
    bounds = ([[float(np.min(lats)), float(np.min(lons))], [float(np.max(lats)), float(np.max(lons))]]
              if len(frame) else None)
    # Serialised once here: a cached string is returned much faster than thousands of nested lists.
    return {"features_js": maps.js_json({"type": "FeatureCollection", "features": features}), "colors": colors,
            "label": label, "entries": entries, "bounds": bounds, "cells": len(frame), "truncated": truncated}


def _legend_format(metric: str):
    if metric in ("coverage", "broken_share", "old_share"):
        return lambda v: f"{format_decimal(v * 100, 0)} %"
    if metric == "demand_points":
        return lambda v: format_decimal(v, 1)
    return lambda v: format_decimal(v, 2)  # incidents per year: often fractions


def _metric_text(metric: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return _legend_format(metric)(value)


def need_frame(need: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """Need table with the map's metrics: the potential of all a hexagon's interventions and the
    coverage of its target."""
    potential = candidates.groupby("cell")["prevented_central"].sum() if len(candidates) else pd.Series(dtype=float)
    out = need.copy()
    out["h3"] = hexgrid.to_str(out["cell"].to_numpy())
    out["potential"] = out["cell"].map(potential).fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["coverage"] = np.where(out["target_points"] > 0, out["working"] / out["target_points"], np.nan)
    return out


def plan_layer(plan, names: dict[str, str]) -> folium.FeatureGroup:
    """The chosen interventions, one hexagon per cell coloured by kind and outlined in black, as a
    feature group added to the map without reloading it."""
    sel = plan.selected
    group = folium.FeatureGroup(name="Piano", control=False)
    if sel.empty:
        return group
    points = sel.pivot_table(index="cell", columns="kind", values="points", aggfunc="sum", fill_value=0)
    per_cell = sel.groupby("cell", sort=False).agg(
        pro_com_t=("pro_com_t", "first"), h3=("h3", "first"), cost=("cost_eur", "sum"),
        low=("prevented_low", "sum"), central=("prevented_central", "sum"), high=("prevented_high", "sum"))
    points = points.reindex(index=per_cell.index, columns=KIND_ORDER, fill_value=0)
    features = []
    for cell, row, pts in zip(per_cell.index, per_cell.itertuples(index=False), points.to_numpy(), strict=True):
        present = [i for i, n in enumerate(pts) if n > 0]
        what = "; ".join(f"{KINDS[KIND_ORDER[i]]} ({format_int(pts[i])} punti)" for i in present)
        effect = f"{format_decimal(row.central, 2)} ({format_decimal(row.low, 2)}–{format_decimal(row.high, 2)})"
        name = names.get(row.pro_com_t, row.pro_com_t)
        features.append({
            "type": "Feature",
            "properties": {"k": present[0] if len(present) == 1 else 3,
                           "t": [html.escape(f"{name} · {row.h3}"), html.escape(what), f"{format_int(row.cost)} €",
                                 html.escape(effect)]},
            "geometry": {"type": "Polygon", "coordinates": [hex_ring(int(cell))]},
        })
    collection = {"type": "FeatureCollection", "features": features}
    maps.HexLayer(collection, name="Interventi del piano", colors=KIND_COLORS, labels=PLAN_TOOLTIP_LABELS,
                  bounds=None).add_to(group)
    maps.OutlineLayer(collection, name="Contorno del piano", style={"color": "#111111", "weight": 1.6, "fill": False},
                      bounds=None).add_to(group)
    return group


def build_need_map(data: dict, comuni: pd.DataFrame, tiles: str, *, assets_url: str | None = None) -> folium.Map:
    """The base map: comuni boundaries and the need layer (the plan is added on top by st_folium)."""
    location, zoom = maps.start_view(comuni)
    m = folium.Map(location=location, zoom_start=zoom, tiles=None, prefer_canvas=True, control_scale=True)
    maps.use_assets(m, assets_url)
    if tiles == "osm":
        folium.TileLayer(maps.OSM_URL, attr=maps.OSM_ATTRIBUTION, name="OpenStreetMap", max_zoom=19,
                         control=False).add_to(m)
    need_layer = maps.HexLayer({"type": "FeatureCollection", "features": []}, name=f"Fabbisogno: {data['label']}",
                               colors=data["colors"], labels=TOOLTIP_LABELS, bounds=data["bounds"])
    need_layer.data_js = data["features_js"]  # the features, already serialised by need_layer_data
    need_layer.add_to(m)
    if len(comuni):
        maps.OutlineLayer(maps.comuni_features(comuni), name="Confini comunali",
                          style={"color": "#1f2937", "weight": 1.4, "opacity": 0.9}, bounds=None).add_to(m)
    entries = list(data["entries"]) + [(KIND_COLORS[i], f"Piano: {KINDS[k]}") for i, k in enumerate(KIND_ORDER)]
    entries.append((KIND_COLORS[3], "Piano: più tipi di intervento"))
    maps.Legend(data["label"], entries, "Esagoni con il contorno nero: interventi del piano.").add_to(m)
    folium.LayerControl(collapsed=True, position="topright").add_to(m)
    if data["bounds"]:
        m.fit_bounds(data["bounds"])
    return m


#: Vega label expression: thousands with a dot, decimals with a comma (Italian format).
_IT_AXIS = "replace(replace(replace(format(datum.value, ',~f'), ',', '_'), '.', ','), '_', '.')"


def frontier_chart(front: pd.DataFrame, budget: float, plan_totals: dict) -> alt.LayerChart:
    """Prevented incidents per year (band low-high, line central) against the budget, with the
    chosen budget's plan as a red point; axes and tooltips in Italian number format."""
    data = front.drop(columns=["objective"], errors="ignore").assign(budget_k=front["budget_eur"] / 1000)
    for col in ("prevented_low", "prevented_central", "prevented_high", "marginal_central"):
        data[f"{col}_t"] = [format_decimal(v, 2) for v in data[col]]
    data["budget_t"] = [format_int(v) for v in data["budget_k"]]
    base = alt.Chart(data).encode(x=alt.X("budget_k:Q", title="Budget (migliaia di €)",
                                          axis=alt.Axis(labelExpr=_IT_AXIS)))
    band = base.mark_area(opacity=0.25, color="#0066CC").encode(
        y=alt.Y("prevented_low:Q", title="Delitti notturni all'aperto evitati/anno",
                axis=alt.Axis(labelExpr=_IT_AXIS)), y2="prevented_high:Q")
    tooltip = [alt.Tooltip("budget_t:N", title="Budget (k€)"),
               alt.Tooltip("prevented_central_t:N", title="Centrale"),
               alt.Tooltip("prevented_low_t:N", title="Basso"),
               alt.Tooltip("prevented_high_t:N", title="Alto"),
               alt.Tooltip("marginal_central_t:N", title="In più rispetto al passo precedente")]
    line = base.mark_line(point=True, color="#0066CC").encode(y="prevented_central:Q", tooltip=tooltip)
    central = plan_totals["prevented_central"]
    here = pd.DataFrame({"budget_k": [budget / 1000], "prevented_central": [central],
                         "budget_t": [format_int(budget / 1000)], "central_t": [format_decimal(central, 2)]})
    rule = alt.Chart(here).mark_rule(color="#B3261E", strokeDash=[5, 4]).encode(x="budget_k:Q")
    point = alt.Chart(here).mark_point(color="#B3261E", size=90, filled=True).encode(
        x="budget_k:Q", y="prevented_central:Q",
        tooltip=[alt.Tooltip("budget_t:N", title="Budget scelto (k€)"),
                 alt.Tooltip("central_t:N", title="Centrale")])
    return (band + line + rule + point).properties(height=320)
