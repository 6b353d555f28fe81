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

from geo.access.privacy import VEGA_IT_NUMBER, format_decimal, format_int
from geo.data import hexgrid
from geo.lighting.need import NeedParams, UnderlitRule
from geo.lighting.plan import KINDS
from geo.lighting.report import hex_ring
from geo.maps import layers as maps
from geo.maps.classes import NO_DATA, NO_DATA_COLOR, classify
from geo.overview.places import place_label

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
        where = place_label(row.get("place"), names.get(row["pro_com_t"], row["pro_com_t"]))
        texts.append([
            html.escape(f"{where} · {row['h3']}"),
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
        place=("place", "first") if "place" in sel else ("h3", lambda _: None),
        low=("prevented_low", "sum"), central=("prevented_central", "sum"), high=("prevented_high", "sum"))
    points = points.reindex(index=per_cell.index, columns=KIND_ORDER, fill_value=0)
    features = []
    for cell, row, pts in zip(per_cell.index, per_cell.itertuples(index=False), points.to_numpy(), strict=True):
        present = [i for i, n in enumerate(pts) if n > 0]
        what = "; ".join(f"{KINDS[KIND_ORDER[i]]} ({format_int(pts[i])} punti)" for i in present)
        effect = f"{format_decimal(row.central, 2)} ({format_decimal(row.low, 2)}–{format_decimal(row.high, 2)})"
        name = place_label(row.place, names.get(row.pro_com_t, row.pro_com_t))
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
    m = maps.base_map(tiles=tiles, assets_url=assets_url, comuni=comuni)
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
_IT_AXIS = VEGA_IT_NUMBER


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


# --------------------------------------------------------------------------------------------
# Tables and texts of the page
# --------------------------------------------------------------------------------------------

def need_params(rule_key: tuple, outskirts_km: float, weights: tuple) -> NeedParams:
    """The need parameters from the page's plain cache keys (rule tuple, distance, weights)."""
    basis, target, below, min_points = rule_key
    w_rl, w_ro, w_s, w_v, w_d = weights
    return NeedParams(rule=UnderlitRule(basis=basis, target=target, underlit_below=below, min_points=min_points),
                      outskirts_km=outskirts_km, w_reports_lighting=w_rl, w_reports_other=w_ro, w_schools=w_s,
                      w_services=w_v, w_destinations=w_d)


def candidate_labels(candidates: pd.DataFrame, names: dict[str, str]) -> dict[str, str]:
    """``id -> "Comune · kind · N punti · cost € · id"`` for the forced / excluded pickers."""
    return {i: f"{names.get(c, c)} · {KINDS[k]} · {p} punti · {format_int(v)} € · {i}"
            for c, k, p, v, i in zip(candidates["pro_com_t"], candidates["kind"], candidates["points"],
                                     candidates["cost_eur"], candidates["id"], strict=True)}


_RANGE_COLUMNS = {"prevented_central": "Delitti evitati/anno (centrale)",
                  "prevented_low": "Delitti evitati/anno (basso)", "prevented_high": "Delitti evitati/anno (alto)"}


def by_comune_table(by: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """The plan's split by comune (from :func:`geo.lighting.report.public_by_comune`) with Italian
    headers; prevented incidents rounded to two decimals."""
    out = pd.DataFrame({"Comune": by["pro_com_t"].map(lambda c: names.get(c, c)), "Costo (€)": by["cost_eur"],
                        "Quota del piano": by["share"], "Interventi": by["interventions"]})
    for col, label in _RANGE_COLUMNS.items():
        out[label] = by[col].astype(float).round(2)
    return out.reset_index(drop=True)


def frontier_table(front: pd.DataFrame) -> pd.DataFrame:
    """The frontier (for the role, :func:`geo.lighting.report.public_frontier`) with Italian headers."""
    out = pd.DataFrame({"Budget (€)": front["budget_eur"]})
    for col in ("prevented_low", "prevented_central", "prevented_high"):
        out[_RANGE_COLUMNS[col]] = front[col].astype(float).round(2)
    out["In più rispetto al passo precedente (centrale)"] = front["marginal_central"].astype(float).round(2)
    out["Interventi"] = front["interventions"]
    return out.reset_index(drop=True)


def frontier_caption(front: pd.DataFrame) -> str:
    step = front["budget_eur"].diff().dropna()
    step_text = format_int(step.iloc[0]) if len(step) else "–"
    return ("Banda: intervallo basso–alto; linea: valore centrale; linea rossa: budget scelto. Ogni punto è un "
            f"piano ottimo (passi di {step_text} €) con gli stessi vincoli.")


def method_markdown(attrs: dict) -> str:
    """The method section: need rule (from the need table's ``attrs``), effect and plan."""
    return (
        f"**Fabbisogno.** Per ogni esagono: punti luce, guasti, tecnologie vecchie; densità in "
        f"{html.escape(attrs['basis_label'])}. Obiettivo: {format_decimal(attrs['target_scale'], 2)} × "
        f"({BASIS_UNITS[attrs['basis']]})^{format_decimal(attrs['target_exponent'], 2)} punti luce "
        f"({html.escape(attrs['target_source'])}); "
        f"un esagono è **sottoilluminato** se ha meno del {format_decimal(attrs['underlit_below'] * 100, 0)} % "
        f"dell'obiettivo in punti funzionanti (obiettivo di almeno {format_decimal(attrs['min_points'], 0)} punti). "
        "I nuovi punti luce lo riportano all'obiettivo.  \n"
        "**Effetto.** La quota di un esagono che migliora è (punti migliorati × peso del tipo) / punti dopo "
        "l'intervento; i delitti evitati sono la somma, sulle famiglie di reato, di quota × effetto della famiglia × "
        "delitti notturni all'aperto della famiglia all'anno (più, se attivata, la diffusione ai vicini). Le tre "
        "quote di un esagono sommano al più a 1.  \n"
        "**Piano.** Programmazione lineare intera 0-1 risolta in modo **esatto** con HiGHS (scipy): massimizza i "
        "delitti evitati attesi (valore centrale) più il peso × la domanda percepita, entro il budget, le quote per "
        "comune (del costo del piano) e gli interventi imposti o esclusi."
    )


def kpis(totals: dict, shown: dict, budget: float, *, cleared: bool) -> list[dict]:
    """The four KPI cards (label, value, delta, help) of the plan, Italian formats."""
    low_high = f"{format_decimal(shown['prevented_low'], 1)}–{format_decimal(shown['prevented_high'], 1)}"
    payback = totals["led_payback_years"]
    return [
        {"label": "Costo del piano", "value": f"{format_int(totals['cost_eur'])} €",
         "help": f"{totals['interventions']} interventi su un budget di {format_int(budget)} €."},
        {"label": "Delitti evitati all'anno", "value": format_decimal(shown["prevented_central"], 1),
         "delta": f"intervallo {low_high}",
         "help": "Somma sulle famiglie di reato di quota × effetto × delitti notturni all'aperto: valore centrale "
                 "con l'intervallo basso (nessun effetto, Steinbach et al. 2015) – alto (Chalfin et al. 2022). Mai "
                 "il valore centrale senza il suo intervallo." + ("" if cleared else " Calcolati dai conteggi "
                                                                   "protetti.")},
        {"label": "Energia risparmiata all'anno", "value": f"{format_decimal(totals['net_kwh_saved'] / 1000, 1)} MWh",
         "delta": f"{format_int(totals['net_eur_saved'])} €/anno · "
                  f"{format_decimal(totals['net_co2_saved_kg'] / 1000, 1)} t CO₂",
         "help": "Saldo: risparmio delle sostituzioni LED meno il consumo di riparazioni e nuovi punti luce."},
        {"label": "Ritorno LED", "value": "–" if not math.isfinite(payback) else f"{format_decimal(payback, 1)} anni",
         "help": "Costo delle sostituzioni LED diviso il risparmio annuo in bolletta (ritorno semplice)."},
    ]


def intro_text(pact: str, price_list: str) -> str:
    return (f"{pact}: la Regione finanzia programmi di illuminazione delle periferie secondo le indicazioni del "
            "CPOSP, anche per la sicurezza percepita dei residenti. Lanterna propone il piano migliore per un budget, "
            "con l'effetto atteso e il suo intervallo, e le ragioni di ogni scelta. Costi unitari indicativi: "
            f"sostituirli con le voci del {price_list.removeprefix('il ')}.")


def scope_text(period: str, res: int, need: pd.DataFrame, candidates: pd.DataFrame, role_label: str) -> str:
    return (f"Delitti notturni all'aperto di **{period}**, espressi per anno · esagoni H3 di risoluzione {res} · "
            f"{format_int(len(need))} esagoni, {format_int(int(need['under_lit'].sum()))} sottoilluminati, "
            f"{format_int(len(candidates))} interventi possibili · ruolo *{html.escape(role_label)}*")


PROTECTED_PLAN_NOTE = (
    "Il piano è scelto sui conteggi protetti: dove un conteggio piccolo è pubblicato più alto del vero il piano tende "
    "a sceglierlo, quindi l'effetto mostrato tende a essere ottimista, tanto più quanto è breve il periodo, perché "
    "più conteggi per famiglia sono piccoli. L'intervallo basso–alto resta la guida.")
EMPTY_PLAN_NOTE = (
    "Nessun intervento nel piano: con questi dati, filtri e vincoli nessun intervento possibile ha un beneficio "
    "atteso, oppure il budget non basta per il più economico.")
CITATIONS_NOTE = ("studi citati. Il valore basso 0 («nessun effetto») viene da Steinbach et al. 2015, che non "
                  "trovano associazione tra variazioni dell'illuminazione e reati.")


def map_note(data: dict) -> str:
    note = f"{format_int(data['cells'])} esagoni disegnati"
    if data["truncated"]:
        note += f" (i {format_int(MAX_NEED_CELLS)} con più delitti evitabili)"
    return note + ". Passare sopra un esagono per i dettagli; gli esagoni con il contorno nero sono nel piano."


def export_context(*, territory: str, res: int, comuni: list[str], names: dict[str, str], period: str,
                   demo: bool) -> dict:
    """The context block of the printable summary."""
    return {"territory": territory, "res": res, "comuni": ", ".join(names.get(c, c) for c in comuni)
            or "tutto il territorio", "period": period, "demo": demo}


def export_metadata(res: int, period: str, shown: dict, effects, cost_eur: float) -> dict:
    """The extra metadata of the GeoJSON export (with the plan options, see ``options_metadata``)."""
    return {"risoluzione_h3": res, "periodo": period,
            "delitti_evitati_anno": [shown["prevented_low"], shown["prevented_central"], shown["prevented_high"]],
            "effetti_per_famiglia": {k: list(v) for k, v in effects.range.items()}, "costo_piano_eur": cost_eur}
