"""What the committee takes away from a pilot-zone ranking: the flat table, CSV and GeoJSON
exports, and a printable HTML summary (ranking, zone cards, method).

Privacy: roles without clearance see each zone's incident total and night total protected by the
cell-key method (:func:`zone_figures`, :mod:`geo.access.disclosure`), and the night share and harm
rates computed from them. Homeless
services whose address is not public are neither named, counted nor used for distances.
Every text written into HTML is escaped; text cells of the CSV that a spreadsheet would run as
a formula are prefixed with an apostrophe.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from collections.abc import Mapping, Sequence

import folium
import numpy as np
import pandas as pd
import shapely

from geo.access.disclosure import PROTECTED_NOTE, protect_counts
from geo.access.privacy import (
    can_see_exact,
    format_decimal,
    format_int,
    format_percent,
)
from geo.data import hexgrid
from geo.data.schemas import INCIDENT_CATEGORIES
from geo.maps import layers as maps
from geo.zones import hotspots
from geo.zones.indicators import INDICATOR_KEYS, INDICATORS, SEVERITY_WEIGHTS
from geo.zones.pilot import ZoneResult
from geo.zones.priority import PRESETS

#: Shown for a zone figure that cannot be protected (a ranking without key sums).
MISSING_TOTAL = "n.d."

# --------------------------------------------------------------------------------------------
# Display helpers
# --------------------------------------------------------------------------------------------

def zone_figures(row: Mapping, role: str | None) -> dict[str, float] | None:
    """The zone's incident figures as ``role`` may see them: ``incidents``, ``night``,
    ``night_share``, ``harm_rate``, ``harm_density``.

    Cleared roles get the exact figures. For the others the totals are protected by the cell-key
    method (:func:`geo.access.disclosure.protect_counts` with the zone's key sums: the same records
    always give the same total) and the night share, harm rate and harm density are recomputed
    from the protected totals. None when the key sums are unknown (fail closed).
    """
    exact = {"incidents": float(row["incidents"]), "night": float(row.get("night", 0)),
             "night_share": row.get("night_share", float("nan")), "harm_rate": row.get("harm_rate", float("nan")),
             "harm_density": row.get("harm_density", float("nan"))}
    if can_see_exact(role):
        return exact
    keys = (row.get("incidents_key"), row.get("night_key"))
    if any(k is None or pd.isna(k) for k in keys):
        return None
    incidents, night = protect_counts([row["incidents"], row.get("night", 0)], list(keys), role)
    night = min(night, incidents)
    scale = incidents / exact["incidents"] if exact["incidents"] > 0 else 0.0
    return {"incidents": float(incidents), "night": float(night),
            "night_share": night / incidents if incidents > 0 else float("nan"),
            "harm_rate": exact["harm_rate"] * scale, "harm_density": exact["harm_density"] * scale}


def zone_incidents(row: Mapping, role: str | None) -> str:
    """The zone's incident total as shown to ``role`` (:func:`zone_figures`); "n.d." when it
    cannot be protected."""
    fig = zone_figures(row, role)
    return MISSING_TOTAL if fig is None else format_int(fig["incidents"])


def derived_hidden(row: Mapping, role: str | None) -> bool:
    """True when the zone's incident figures cannot be shown to ``role`` (no key sums to protect
    them: :func:`zone_figures` is None)."""
    return zone_figures(row, role) is None


def drivers_label(keys: Sequence[str]) -> str:
    """Italian short labels of driver codes, joined."""
    return ", ".join(INDICATORS[k].short for k in keys)


def trend_text(row: Mapping) -> str:
    """Italian sentence on a zone's incident trend (Mann-Kendall)."""
    if row["trend"] == 0:
        return "stabile (nessuna tendenza significativa)"
    word = "in aumento" if row["trend"] > 0 else "in diminuzione"
    slope = format_decimal(row["trend_slope"], 1)
    return f"{word} ({slope} delitti/anno, Mann-Kendall p = {format_decimal(row['trend_p'], 3)})"


def services_text(row: Mapping, role: str | None) -> str:
    """Homeless services of a zone and the nearest one. Roles without clearance see only the
    services with a public address: not the names, the number or the distance of the others."""
    names = list(row["service_names"])
    if can_see_exact(role):
        names += [f"{n} (indirizzo riservato)" for n in row["service_names_reserved"]]
        count, nearest, km = row["services"], row["nearest_service"], row["nearest_service_km"]
    else:
        count, nearest, km = row["services_public"], row["nearest_public_service"], row["nearest_public_service_km"]
    inside = f"{count} nella zona" + (f" ({'; '.join(names)})" if names else "")
    if not nearest:
        return f"{inside}; nessun servizio censito nel territorio"
    return f"{inside}; il più vicino: {nearest} a {format_decimal(km, 1)} km"


def service_km(row: Mapping, role: str | None) -> float:
    """Distance (km) from the zone's centre to the nearest homeless service ``role`` may see."""
    return row["nearest_service_km"] if can_see_exact(role) else row["nearest_public_service_km"]


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def md(text: object) -> str:
    """Text from the data made inert for Streamlit's Markdown (names of schools, services…)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def concentration_text(summary: Mapping) -> str:
    """The concentration curve's key figures against the law of crime concentration (Italian)."""
    shares = "; ".join(f"{format_percent(v)} dei delitti nel {format_percent(k)} più denso della superficie"
                       for k, v in summary["incidents_in_area"].items())
    return (f"{shares}; metà dei delitti nel {format_percent(summary['area_for_incidents'][0.5], 1)} della "
            f"superficie; indice di concentrazione (Gini) {format_decimal(summary['gini'], 2)}. Termine di "
            "confronto, la legge della concentrazione del crimine (Weisburd 2015): circa il 50 % dei delitti "
            "sul 2-6 % dei segmenti stradali di una città (un esagono di risoluzione 9 contiene più segmenti, "
            "quindi qui la concentrazione appare minore).")


def card_markdown(row: Mapping, *, role: str | None, top: int) -> tuple[str, str, str, str]:
    """The Markdown paragraphs of a zone card (Italian): comuni, drivers, trend and incident figures;
    exposure (schools, services, reports, assets); lighting; robustness. Data strings are escaped
    (:func:`md`); incident figures as :func:`zone_figures` gives them to ``role``."""
    fig = zone_figures(row, role)
    drivers = " · ".join(f"**{md(INDICATORS[k].label)}** {format_decimal(row[f'c_{k}'], 1)} punti"
                         for k in row["drivers"])
    night = MISSING_TOTAL if fig is None else format_percent(fig["night_share"])
    rate = MISSING_TOTAL if fig is None else format_decimal(fig["harm_rate"], 1)
    head = (
        f"**Comuni:** {md(', '.join(row['comuni']))} · **Residenti:** {format_int(row['residents'])}  \n"
        f"**Fattori principali:** {drivers or '–'}  \n"
        f"**Tendenza (EHSA):** {md(row['trend_class'])} ({row['trend_class_cells']} esagoni su {row['n_cells']}); "
        f"delitti {md(trend_text(row))}  \n"
        f"**Quota notturna:** {night} · **Danno per 1.000 residenti/anno:** {rate} (stima bayesiana, affidabilità "
        f"{row.get('harm_rate_reliability', 'bassa')}) · **Esagoni punto caldo (Gi\\*):** {row['hot_cells']}"
    )
    names = row["school_names"]
    schools = ", ".join(names[:8]) + (f" e altre {len(names) - 8}" if len(names) > 8 else "")
    cats = row["report_categories"]
    exposure = (
        f"**Scuole:** {row['schools']}{' (' + md(schools) + ')' if schools else ''}  \n"
        f"**Servizi per persone senza dimora:** {md(services_text(row, role))}  \n"
        f"**Segnalazioni aperte:** {row['reports_open']} (gravità totale {row['reports_severity']}"
        f"{'; ' + md(', '.join(cats)) if cats else ''}) · "
        f"**Segnalazioni di bivacco o marginalità:** {row['homeless_reports']} · "
        f"**Beni confiscati riutilizzabili:** {row['confiscated']} (su {row['confiscated_all']})"
    )
    lighting = (
        f"**Illuminazione:** {format_int(row['lights'])} punti luce "
        f"({format_decimal(row['lights_per_1000'], 0)} per 1.000 residenti), guasti "
        f"{format_percent(row['lights_broken_share'], 1)}, tecnologie da sostituire "
        f"{format_percent(row['lights_old_share'], 0)}, carenza stimata {format_percent(row['lighting_deficit'])}"
    )
    disagree = " · **i profili non concordano**" if row["disagreement"] else ""
    robust = (
        f"**Robustezza:** tra le prime {top} nel {format_percent(row['p_top'])} delle simulazioni, rango "
        f"{int(row['rank_p05'])}-{int(row['rank_p95'])} (5-95 %); stabilità del perimetro "
        f"{format_percent(row['footprint'])}; rango di consenso (Borda) {row['consensus_rank']}{disagree}"
    )
    return head, exposure, lighting, robust


def indicator_rows(row: Mapping, role: str | None) -> pd.DataFrame:
    """The zone's indicators for its card: Italian label, the zone's value with its unit, the
    zone's score (area-weighted mean of its hexagons' percentile scores) and the contribution to
    the priority. Incident figures as :func:`zone_figures` gives them to ``role``."""
    fig = zone_figures(row, role)
    hide = fig is None
    fig = fig or {}
    area = row["area_km2"]
    values = {
        "harm_rate": (format_decimal(fig.get("harm_rate"), 1),
                      f"per 1.000 residenti all'anno (stima bayesiana; affidabilità "
                      f"{row.get('harm_rate_reliability', 'bassa')})", True),
        "harm_density": (format_decimal(fig.get("harm_density"), 1), "per km² all'anno", True),
        "night_share": (format_percent(fig.get("night_share")), "dei delitti", True),
        "reports": (format_decimal(row["reports_severity"] / area if area > 0 else None, 1),
                    f"punti di gravità per km² ({row['reports_open']} segnalazioni aperte)", False),
        "lighting_deficit": (format_percent(row["lighting_deficit"]), "dei punti luce attesi", False),
        "schools": (format_int(row["schools"]), "scuole nella zona", False),
        "homeless": (format_int(row["homeless_reports"]), "segnalazioni di bivacco o marginalità", False),
        "service_distance": (format_decimal(service_km(row, role), 1), "km dal servizio più vicino", False),
        "confiscated": (format_int(row["confiscated"]), "beni riutilizzabili nella zona", False),
        "population": (format_int(row["residents"]), "residenti", False),
    }
    return pd.DataFrame([
        {
            "Indicatore": INDICATORS[k].label,
            "Valore della zona": MISSING_TOTAL if (derived and hide) else f"{text} {unit}",
            "Punteggio (0-1)": round(float(row[f"s_{k}"]), 3),
            "Contributo (punti)": round(float(row[f"c_{k}"]), 2),
        }
        for k, (text, unit, derived) in values.items()
    ])


# --------------------------------------------------------------------------------------------
# Table and exports
# --------------------------------------------------------------------------------------------

def absent_note(result: ZoneResult) -> str | None:
    """Italian note on the indicators that dropped out of the score (None when none did)."""
    absent = result.params.get("absent") or {}
    parts = []
    if absent.get("territory"):
        names = ", ".join(INDICATORS[k].label for k in absent["territory"])
        parts.append(f"Senza dati nel territorio, esclusi dal punteggio con i pesi ridistribuiti sugli altri "
                     f"indicatori: {names}.")
    for key, comuni in (absent.get("comuni") or {}).items():
        shown = ", ".join(comuni[:8]) + (f" e altri {len(comuni) - 8}" if len(comuni) > 8 else "")
        parts.append(f"{INDICATORS[key].label}: nessun dato fornito da {shown}; negli esagoni di questi comuni "
                     "l'indicatore è escluso e il suo peso ridistribuito.")
    return " ".join(parts) or None


def export_table(result: ZoneResult, *, role: str | None) -> pd.DataFrame:
    """The ranking as a flat table with Italian headers (CSV, GeoJSON properties, the page)."""
    z = result.zones
    if z.empty:
        return pd.DataFrame(columns=["Rango", "Zona", "Luogo", "Comuni", "Beneficio atteso (punti × km²)",
                                     "Priorità (0-100)"])
    figs = [zone_figures(r, role) for r in z.to_dict("records")]
    night = [MISSING_TOTAL if f is None else None if pd.isna(f["night_share"])
             else round(float(f["night_share"]) * 100, 1) for f in figs]
    out = pd.DataFrame({
        "Rango": z["rank"],
        "Zona": z["zone"],
        "Luogo": z["name"],
        "Comuni": z["comuni"].map(", ".join),
        "Beneficio atteso (punti × km²)": z["benefit"].round(2),
        "Priorità (0-100)": z["priority"].round(2),
        "Fattori principali": z["drivers"].map(drivers_label),
        "Superficie (km²)": z["area_km2"].round(3),
        "Residenti": z["residents"].round(0).astype("int64"),
        "Delitti nel periodo": [zone_incidents(r, role) for r in z.to_dict("records")],
        "Quota notturna (%)": pd.Series(night, dtype="object"),
        "Affidabilità del tasso per residenti": z["harm_rate_reliability"],
        "Esagoni punto caldo (Gi*)": z["hot_cells"],
        "Tendenza (EHSA)": z["trend_class"],
        "Andamento dei delitti": [trend_text(r) for r in z.to_dict("records")],
        "Scuole": z["schools"],
        "Servizi senza dimora nella zona": z["services"] if can_see_exact(role) else z["services_public"],
        "Segnalazioni aperte": z["reports_open"],
        "Punti luce": z["lights"],
        "Punti luce guasti (%)": (z["lights_broken_share"] * 100).round(1),
        "Carenza illuminazione (%)": (z["lighting_deficit"] * 100).round(1),
        "Beni confiscati": z["confiscated"],
        f"P(tra le prime {result.params['top']})": z["p_top"].round(3),
        "Rango mediano (Monte Carlo)": z["rank_median"],
        "Rango 5-95% (Monte Carlo)": [f"{int(a)}-{int(b)}" for a, b in zip(z["rank_p05"], z["rank_p95"],
                                                                          strict=True)],
        "Stabilità del perimetro": z["footprint"].round(3),
        "Rango di consenso (Borda)": z["consensus_rank"],
        **{f"Rango {PRESETS[k].label}": z[f"rank_{k}"] for k in PRESETS},
        "Disaccordo tra profili": z["disagreement"].map({True: "sì", False: "no"}),
        **{f"Contributo: {INDICATORS[k].label}": z[f"c_{k}"].round(2) for k in INDICATOR_KEYS},
        "Celle H3": z["cells"].map(lambda cs: " ".join(hexgrid.to_str(cs))),
    })
    return out


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe (OWASP, CSV
    injection); numbers are left alone."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def ranking_csv(result: ZoneResult, *, role: str | None) -> bytes:
    """The ranking as CSV for Italian spreadsheets: UTF-8 with BOM, ';' separator, decimal comma,
    formula-like text neutralised."""
    table = export_table(result, role=role)
    for col in table.columns:
        if not pd.api.types.is_numeric_dtype(table[col]):
            table[col] = table[col].map(neutralise)
    buf = io.StringIO()
    table.to_csv(buf, sep=";", decimal=",", index=False)
    return buf.getvalue().encode("utf-8-sig")


def zone_geometries(result: ZoneResult) -> list[shapely.Geometry]:
    """Outline of each zone (union of its hexagons), in ranking order, WGS84 lon/lat."""
    if result.zones.empty:
        return []
    return [shapely.union_all(hexgrid.cells_to_polygons(cells)) for cells in result.zones["cells"]]


def _json_value(v: object) -> object:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def ranking_geojson(result: ZoneResult, *, role: str | None) -> str:
    """The zones as a GeoJSON FeatureCollection (WGS84, RFC 7946) with the ranking's fields;
    the weights and the bounds are in the top-level ``lanterna`` member."""
    table = export_table(result, role=role).drop(columns=["Celle H3"], errors="ignore")
    features = []
    for geom, row in zip(zone_geometries(result), table.to_dict("records"), strict=True):
        features.append({
            "type": "Feature",
            "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-6)),
            "properties": {k: _json_value(v) for k, v in row.items()},
        })
    p = result.params
    meta = {
        "pesi": {k: round(float(v), 6) for k, v in result.weights.items()},
        "superficie_min_km2": p["min_km2"], "superficie_max_km2": p["max_km2"],
        "quota_candidati": p["candidate_share"], "risoluzione_h3": p["res"], "seme": p["seed"],
        "periodo": [str(d) for d in p["period"]], "dati_dimostrativi": bool(p["demo"]),
    }
    return json.dumps({"type": "FeatureCollection", "lanterna": meta, "features": features}, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# Printable summary
# --------------------------------------------------------------------------------------------

def svg_map(result: ZoneResult, *, width: int = 640, height: int = 420, comuni: pd.DataFrame | None = None) -> str:
    """An SVG sketch of the zone outlines, numbered by rank, over the comuni's boundaries with
    their names (no tiles: it prints offline). ``comuni`` is
    :meth:`geo.data.storage.Store.comuni_geometries`; the frame is the comuni holding a zone."""
    geoms = zone_geometries(result)
    if not geoms:
        return ""
    borders: list[tuple[str, shapely.Geometry]] = []
    if comuni is not None and len(comuni):
        held = {c for names in result.zones["comuni"] for c in names}
        borders = [(str(name), geom) for name, geom in zip(comuni["nome"], maps.comuni_shapes(comuni), strict=True)
                   if name in held]
    frame = [g for _, g in borders] or geoms
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(frame, dtype=object))
    kx = math.cos(math.radians((miny + maxy) / 2))
    scale = min((width - 20) / max((maxx - minx) * kx, 1e-6), (height - 20) / max(maxy - miny, 1e-6))

    def xy(x: float, y: float) -> tuple[float, float]:
        return 10 + (x - minx) * kx * scale, height - 10 - (y - miny) * scale

    def rings(geom: shapely.Geometry) -> list:
        return [poly.exterior for poly in getattr(geom, "geoms", [geom]) if hasattr(poly, "exterior")]

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="Mappa delle zone pilota">']
    for _name, geom in borders:
        for ring in rings(geom):
            points = " ".join("{:.1f},{:.1f}".format(*xy(x, y)) for x, y in ring.coords)
            parts.append(f'<polygon points="{points}" fill="#F4F6F8" stroke="#7F8C8D" stroke-width="0.8"/>')
    for name, geom in borders:
        c = geom.representative_point()
        tx, ty = xy(c.x, c.y)
        parts.append(f'<text x="{tx:.1f}" y="{ty:.1f}" font-size="10" fill="#566573" text-anchor="middle">'
                     f"{html.escape(name)}</text>")
    for geom in geoms:
        for ring in rings(geom):
            points = " ".join("{:.1f},{:.1f}".format(*xy(x, y)) for x, y in ring.coords)
            parts.append(f'<polygon points="{points}" fill="#C0392B" fill-opacity="0.55" stroke="#7B241C"/>')
    for geom, rank in zip(geoms, result.zones["rank"], strict=True):
        c = geom.representative_point()
        tx, ty = xy(c.x, c.y)
        parts.append(f'<circle cx="{tx:.1f}" cy="{ty:.1f}" r="8" fill="#fff" stroke="#7B241C"/>'
                     f'<text x="{tx:.1f}" y="{ty + 3.5:.1f}" font-size="10" font-weight="bold" '
                     f'text-anchor="middle">{int(rank)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def card_html(row: Mapping, *, role: str | None, top: int) -> str:
    """One zone card as HTML (escaped)."""
    e = html.escape
    fig = zone_figures(row, role)
    drivers = "; ".join(f"{INDICATORS[k].label} ({format_decimal(row[f'c_{k}'], 1)} punti)" for k in row["drivers"])
    schools = ", ".join(row["school_names"][:6]) or "nessuna"
    if len(row["school_names"]) > 6:
        schools += f" e altre {len(row['school_names']) - 6}"
    night = MISSING_TOTAL if fig is None else format_decimal(fig["night_share"] * 100, 0) + " %"
    rate = MISSING_TOTAL if fig is None else format_decimal(fig["harm_rate"], 1)
    disagreement = " · <b>i profili non concordano</b>" if row["disagreement"] else ""
    indicators = "".join(
        f"<tr><td>{e(r['Indicatore'])}</td><td>{e(r['Valore della zona'])}</td>"
        f"<td>{e(format_decimal(r['Punteggio (0-1)'], 2))}</td>"
        f"<td>{e(format_decimal(r['Contributo (punti)'], 1))}</td></tr>"
        for r in indicator_rows(row, role).to_dict("records"))
    return f"""<div class="card"><h3>{e(row['zone'])} · {e(row.get('name') or '')} · rango {row['rank']} · priorità
{e(format_decimal(row['priority'], 1))}</h3>
<p><b>Comuni:</b> {e(', '.join(row['comuni']))} · <b>Superficie:</b> {e(format_decimal(row['area_km2'], 2))} km² ·
<b>Residenti:</b> {e(format_int(row['residents']))} · <b>Delitti nel periodo:</b>
{e(zone_incidents(row, role))} (notte {e(night)}; danno {e(rate)} punti per 1.000
residenti all'anno)</p>
<p><b>Fattori principali:</b> {e(drivers) or '–'}</p>
<p><b>Tendenza:</b> {e(row['trend_class'])}; delitti {e(trend_text(row))}</p>
<p><b>Scuole:</b> {row['schools']} ({e(schools)}) · <b>Servizi per persone senza dimora:</b>
{e(services_text(row, role))}</p>
<p><b>Segnalazioni aperte:</b> {row['reports_open']} ({e(', '.join(row['report_categories'])) or '–'}) ·
<b>Beni confiscati:</b> {row['confiscated']}</p>
<table><tr><th>Indicatore</th><th>Valore della zona</th><th>Punteggio</th><th>Contributo</th></tr>{indicators}</table>
<p><b>Illuminazione:</b> {row['lights']} punti luce, guasti {e(format_decimal(row['lights_broken_share'] * 100, 1))} %,
tecnologie da sostituire {e(format_decimal(row['lights_old_share'] * 100, 1))} %, carenza stimata
{e(format_decimal(row['lighting_deficit'] * 100, 0))} %</p>
<p><b>Robustezza:</b> tra le prime {top} nel {e(format_decimal(row['p_top'] * 100, 0))} % delle simulazioni
(pesi ± 20 %), rango mediano {e(format_decimal(row['rank_median'], 0))}; rango di consenso (Borda)
{row['consensus_rank']}{disagreement}</p></div>"""


def method_html(result: ZoneResult) -> str:
    """The method, in Italian, for the printable summary and the page."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(ind.label)}</td><td>{e(ind.unit)}</td><td>{e(ind.source)}</td><td>{e(ind.definition)}</td></tr>"
        for ind in INDICATORS.values()
    )
    p = result.params
    classes = "".join(f"<li><b>{e(hotspots.pattern_label(k, hotspots.HOT))}</b>: {e(v)}</li>"
                      for k, v in hotspots.PATTERN_HELP.items())
    severity = "; ".join(f"{INCIDENT_CATEGORIES.get(k, k)} {format_decimal(v, 0)}" for k, v in SEVERITY_WEIGHTS.items())
    return f"""<table><tr><th>Indicatore</th><th>Unità</th><th>Fonte</th><th>Definizione</th></tr>{rows}</table>
<p><b>Normalizzazione.</b> Ogni indicatore diventa un punteggio da 0 a 1: 0 dove il fenomeno è assente,
altrimenti il rango percentile tra gli esagoni dove è presente. La priorità è la somma pesata dei punteggi
(0-100 punti); il contributo di ciascun indicatore è peso × punteggio × 100 e i contributi sommano alla priorità.
</p>
<p><b>Gravità dei delitti.</b> Ogni delitto pesa la pena minima del reato tipico della categoria nel codice
penale, in semestri (idea del Cambridge Crime Harm Index; ipotesi di lavoro, non una scala ufficiale):
{e(severity)}.</p>
<p><b>Punti caldi.</b> Statistica Gi* di Getis-Ord sul logaritmo di (1 + delitti) per esagono, con
vicinato = esagono e primo anello di esagoni H3 del territorio; test di permutazione sul massimo
(Westfall-Young, 199 rimescolamenti degli stessi conteggi): se i delitti fossero disposti a caso, al più 5
analisi su 100 mostrerebbero anche un solo esagono caldo o freddo. Calibrazione misurata in
scripts/bench_calibration.py.</p>
<p><b>Tendenze (come l'Emerging Hot Spot Analysis).</b> Gi* per ogni trimestre completo con correzione FDR,
solo per gli esagoni che sono punti caldi (o freddi) dell'intero periodo o dell'ultimo trimestre al test sul
massimo (2,5 % ciascuno), così che anche le classi restino al 5 % in assenza di struttura; la
tendenza è il test di Mann-Kendall (stagionale con almeno 24 mesi) sui conteggi mensili del vicinato. Classi
(i punti freddi sono simmetrici):</p><ul>{classes}</ul>
<p><b>Zone.</b> Candidati: il {e(format_decimal(p['candidate_share'] * 100, 0))} % degli esagoni con priorità
positiva più alta. Gli esagoni candidati contigui formano aree; quelle oltre {e(format_decimal(p['max_km2'], 2))}
km² sono divise per crescita da semi: l'esagono più prioritario avvia una zona che prende, uno alla volta,
l'esagono candidato confinante più prioritario (con un bonus per ogni confinante già nella zona, per zone
compatte) fino al limite; poi l'esagono migliore rimasto avvia la zona successiva, così un nucleo caldo non
viene tagliato in due. Le aree sotto {e(format_decimal(p['min_km2'], 2))} km² crescono aggiungendo l'esagono
confinante libero di priorità più alta.
Le zone restano dentro il territorio. La priorità di una zona è la media dei suoi esagoni pesata per superficie;
le zone sono <b>classificate per beneficio atteso</b> = priorità × superficie (punti × km²), così che una zona
di dimensione minima con pochi esagoni estremi non superi una zona ampia e quasi altrettanto prioritaria. Sul
dataset dimostrativo le prime 10 zone contengono almeno tanti esagoni caldi di una crescita greedy dagli
esagoni migliori con gli stessi limiti (scripts/bench_ranking.py).</p>
<p><b>Tassi stabili.</b> Il danno per 1.000 residenti di una zona è stimato con lo stimatore bayesiano empirico
globale (Marshall 1991) tra le zone: una zona con pochi residenti è avvicinata al tasso medio delle zone.
L'affidabilità è la quota del tasso che viene dai dati della zona: alta (almeno 80 %), media (50-80 %), bassa.</p>
<p><b>Indicatori senza dati.</b> Un indicatore il cui strato non ha alcun dato nel territorio non entra nel
punteggio, e i pesi degli altri sono ridistribuiti in proporzione; così anche, nei soli esagoni di un comune, per
gli strati che fornisce il Comune (segnalazioni, punti luce) quando quel comune non ne ha fornito nessuno.</p>
<p><b>Robustezza.</b> {p['draws']} simulazioni Monte Carlo con ogni peso moltiplicato per un fattore uniforme
tra {e(format_decimal(1 - p['spread'], 1))} e {e(format_decimal(1 + p['spread'], 1))} (seme {p['seed']}):
probabilità che la zona resti tra le prime {p['top']} e stabilità del perimetro (probabilità media che i suoi
esagoni restino candidati). Consenso di Borda tra i profili {e(', '.join(pr.label for pr in PRESETS.values()))}:
ogni profilo dà a una zona (numero di zone − rango) punti; c'è disaccordo quando una zona è tra le prime
{p['top']} per alcuni profili e non per altri.</p>"""


def summary_html(result: ZoneResult, *, role: str | None, title: str = "Zone pilota", top: int | None = None,
                 comuni: pd.DataFrame | None = None) -> str:
    """A printable HTML summary (the user prints it to PDF from the browser): parameters,
    weights, a sketch map (over the comuni's boundaries when ``comuni`` is given), the ranking,
    one card per zone and the method."""
    e = html.escape
    p = result.params
    top = top or p["top"]
    start, end = p["period"]
    weights = "".join(f"<tr><td>{e(INDICATORS[k].label)}</td><td>{e(format_decimal(v * 100, 1))} %</td></tr>"
                      for k, v in result.weights.items() if v > 0)
    table = export_table(result, role=role).head(top)
    cols = [c for c in ("Rango", "Zona", "Luogo", "Comuni", "Priorità (0-100)", "Fattori principali",
                        "Superficie (km²)", "Residenti", "Delitti nel periodo", "Tendenza (EHSA)",
                        f"P(tra le prime {p['top']})",
                        "Rango di consenso (Borda)", "Disaccordo tra profili") if c in table.columns]
    body = "".join("<tr>" + "".join(f"<td>{e(_text(r[c]))}</td>" for c in cols) + "</tr>"
                   for r in table.to_dict("records"))
    cards = "".join(card_html(r, role=role, top=p["top"]) for r in result.zones.head(top).to_dict("records"))
    privacy_note = "Valori esatti (profilo autorizzato)." if can_see_exact(role) else PROTECTED_NOTE
    demo = ('<p class="warn"><b>Dati dimostrativi</b>: delitti, punti luce, segnalazioni e parte di scuole e '
            "servizi sono generati.</p>") if p.get("demo") else ""
    sketch = svg_map(result, comuni=comuni)
    comuni = ", ".join(p["comuni"]) if p["comuni"] else "tutto il territorio"
    return f"""<!DOCTYPE html><html lang="it"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;font-size:11pt;margin:2em;color:#1a1a1a}}
h1{{font-size:18pt}} h2{{font-size:14pt;margin-top:1.4em}} h3{{font-size:12pt;margin:0 0 4px}}
table{{border-collapse:collapse;width:100%;font-size:9pt}}
td,th{{border:1px solid #bbb;padding:3px 5px;vertical-align:top}}
th{{background:#eef3f8}} .card{{border:1px solid #999;padding:8px 12px;margin:10px 0;break-inside:avoid}}
.warn{{background:#fff3cd;padding:6px;border:1px solid #e0c36a}} .muted{{color:#555;font-size:9pt}}
@media print{{body{{margin:0}}}}
</style></head><body>
<h1>{e(title)} – Patto per la sicurezza urbana, art. 4</h1>{demo}
<p>Periodo dei delitti: <b>{e(_month(start))} – {e(_month(end))}</b> · Comuni: <b>{e(comuni)}</b> · esagoni H3 di
risoluzione {p['res']} · superficie delle zone {e(format_decimal(p['min_km2'], 2))}–{e(format_decimal(p['max_km2'], 2))}
km² · {len(result.zones)} zone individuate · seme {p['seed']}</p>
<h2>Pesi</h2><table><tr><th>Indicatore</th><th>Peso</th></tr>{weights}</table>
<h2>Mappa delle zone</h2>{sketch}
<p class="muted">Le zone sono numerate per rango; in grigio i comuni che le contengono.</p>
<h2>Classifica (prime {top})</h2>
<table><tr>{''.join(f'<th>{e(c)}</th>' for c in cols)}</tr>{body}</table>
<h2>Schede delle zone</h2>{cards}
<h2>Metodo</h2>{method_html(result)}
<p class="muted">Generato da Lanterna. Aggregati anonimi (Patto, art. 3). {e(privacy_note)}</p>
</body></html>"""


def _text(v: object) -> str:
    if isinstance(v, bool):
        return "sì" if v else "no"
    if isinstance(v, float):
        return format_decimal(v, 3 if abs(v) < 1 else 2)
    if isinstance(v, (int, np.integer)):
        return format_int(int(v))
    return str(v)


def _month(d: object) -> str:
    """``mm/aaaa`` for a period bound (a date or its ISO text); empty when unknown."""
    if d is None or d == "":
        return "–"
    try:
        return pd.Timestamp(d).strftime("%m/%Y")
    except (TypeError, ValueError):
        return str(d)


# --------------------------------------------------------------------------------------------
# Map
# --------------------------------------------------------------------------------------------

HOT_COLOR, COLD_COLOR = "#D7301F", "#2B8CBE"
TOP_ZONE_COLOR, OTHER_ZONE_COLOR = "#8E1B10", "#E67E22"
#: Colours of the EHSA classes on the map (hot in reds and oranges, cold in blues).
PATTERN_COLORS = {
    "new": "#FDD49E", "consecutive": "#FDBB84", "intensifying": "#B30000", "persistent": "#E34A33",
    "diminishing": "#FC8D59", "sporadic": "#FEE8C8", "oscillating": "#C994C7", "historical": "#BDBDBD",
}
COLD_PATTERN_COLOR = "#6BAED6"
_LABEL_CSS = (f"font:bold 11px sans-serif;color:#fff;background:{TOP_ZONE_COLOR};padding:1px 3px;"
              "border-radius:3px;white-space:nowrap")


def _hex_collection(cells: Sequence[int], props: Sequence[dict]) -> dict:
    features = []
    for poly, prop in zip(hexgrid.cells_to_polygons(cells), props, strict=True):
        ring = [[round(x, 5), round(y, 5)] for x, y in poly.exterior.coords]
        features.append({"type": "Feature", "properties": prop, "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "features": features}


def _places(hexes: pd.DataFrame) -> list[str | None]:
    """The place labels of some rows of :attr:`ZoneResult.hexes` (None where unknown)."""
    if "place" not in hexes:
        return [None] * len(hexes)
    return [p if isinstance(p, str) and p else None for p in hexes["place"]]


#: Rows of the hot-spot table (the hottest first).
HOTSPOT_ROWS = 50


def hotspot_table(result: ZoneResult, *, limit: int = HOTSPOT_ROWS) -> pd.DataFrame:
    """The hot hexagons (Gi*, family-wise 5 %), hottest first: ``Località`` (the place of the
    hexagon, "Marina di Carrara (Carrara)"), ``Esagono H3``, ``Gi* z`` (2 decimals, Italian),
    ``Tendenza (EHSA)`` and ``Zona pilota`` (its id, or "–"). No incident counts: nothing to protect.
    """
    hexes = result.hexes
    hot = hexes[hexes["hotspot"] == hotspots.HOT]
    hot = hot.assign(_cell=hot.index.to_numpy()).sort_values(["z", "_cell"], ascending=[False, True]).head(limit)
    ids = dict(zip(result.zones["rank"], result.zones["zone"], strict=True)) if len(result.zones) else {}
    return pd.DataFrame({
        "Località": [p or "–" for p in _places(hot)],
        "Esagono H3": hexgrid.to_str(hot.index.to_numpy()),
        "Gi* z": [format_decimal(v, 2) for v in hot["z"]],
        "Tendenza (EHSA)": hot["label"].to_numpy(dtype=object),
        "Zona pilota": [ids.get(int(r), "–") for r in hot["zone"]],
    })


def zone_map(
    result: ZoneResult,
    *,
    comuni: pd.DataFrame | None = None,
    tiles: str = "osm",
    assets_url: str | None = None,
    show_trends: bool = False,
) -> folium.Map:
    """Folium map of the zones (top N dark, the others orange, labelled by id "Z-7K3M"...), the Gi* hot
    and cold spots (family-wise 5 %), the EHSA classes (hidden layer) and the comuni boundaries.

    Tooltips carry no incident counts (only ranks, scores, z-scores and classes), so nothing is
    suppressed here; every text is HTML-escaped.
    """
    e = html.escape
    top = result.params["top"]
    m = maps.base_map(tiles=tiles, assets_url=assets_url, comuni=comuni)
    bounds = None
    if comuni is not None and len(comuni):
        x0, y0, x1, y1 = shapely.total_bounds(maps.comuni_shapes(comuni))
        bounds = [[y0, x0], [y1, x1]]
        maps.OutlineLayer(maps.comuni_features(comuni), name="Confini comunali",
                          style={"color": "#1f2937", "weight": 1.4, "opacity": 0.8}, bounds=bounds).add_to(m)

    hexes = result.hexes
    sig = hexes[hexes["hotspot"] != hotspots.NONE]
    if len(sig):
        props = [{
            "color": HOT_COLOR if h == hotspots.HOT else COLD_COLOR,
            "t": f"<b>Punto {e(h)}</b> · {e(place or '')} (Gi* z = {e(format_decimal(z, 2))}, "
                 f"q = {e(format_decimal(q, 4))})<br>{e(lab)}",
        } for h, z, q, lab, place in zip(sig["hotspot"], sig["z"], sig["q"], sig["label"], _places(sig),
                                         strict=True)]
        folium.GeoJson(
            _hex_collection(sig.index.to_numpy(), props), name=f"Punti caldi e freddi (Gi*, errore 5 %): {len(sig)}",
            style_function=lambda f: {"fillColor": f["properties"]["color"], "color": f["properties"]["color"],
                                      "weight": 0.4, "fillOpacity": 0.45},
            tooltip=folium.GeoJsonTooltip(fields=["t"], labels=False),
        ).add_to(m)

    pat = hexes[hexes["pattern"] != "none"]
    if len(pat):
        props = [{
            "color": PATTERN_COLORS[p] if k == hotspots.HOT else COLD_PATTERN_COLOR,
            "t": f"<b>{e(lab)}</b><br>{e(place or '')}",
        } for p, k, lab, place in zip(pat["pattern"], pat["kind"], pat["label"], _places(pat), strict=True)]
        folium.GeoJson(
            _hex_collection(pat.index.to_numpy(), props), name=f"Tendenze (EHSA): {len(pat)} esagoni",
            show=show_trends,
            style_function=lambda f: {"fillColor": f["properties"]["color"], "color": "#555", "weight": 0.3,
                                      "fillOpacity": 0.75},
            tooltip=folium.GeoJsonTooltip(fields=["t"], labels=False),
        ).add_to(m)

    z = result.zones
    if len(z):
        features = []
        for geom, row in zip(zone_geometries(result), z.to_dict("records"), strict=True):
            tip = (f"<b>{e(row['zone'])} · {e(row['name'])}</b> · rango {row['rank']} · priorità "
                   f"{e(format_decimal(row['priority'], 1))}"
                   f"<br>{e(', '.join(row['comuni']))} · {e(format_decimal(row['area_km2'], 2))} km²"
                   f"<br>Fattori: {e(drivers_label(row['drivers']))}<br>{e(row['trend_class'])}"
                   f"<br>Tra le prime {top}: {e(format_decimal(row['p_top'] * 100, 0))} % delle simulazioni")
            features.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom),
                             "properties": {"top": bool(row["rank"] <= top), "t": tip}})
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features}, name=f"Zone pilota ({len(z)})",
            style_function=lambda f: {
                "fillColor": TOP_ZONE_COLOR if f["properties"]["top"] else OTHER_ZONE_COLOR,
                "color": TOP_ZONE_COLOR if f["properties"]["top"] else OTHER_ZONE_COLOR,
                "weight": 2.5 if f["properties"]["top"] else 1.2,
                "fillOpacity": 0.35 if f["properties"]["top"] else 0.2,
            },
            highlight_function=lambda _f: {"weight": 4},
            tooltip=folium.GeoJsonTooltip(fields=["t"], labels=False),
        ).add_to(m)
        labels = folium.FeatureGroup(name="Nomi delle zone (prime N)")
        for geom, row in zip(zone_geometries(result), z.to_dict("records"), strict=True):
            if row["rank"] > top:
                break
            c = geom.representative_point()
            folium.Marker(
                [c.y, c.x],
                icon=folium.DivIcon(html=f"<div style='{_LABEL_CSS}'>{e(row['zone'])}</div>",
                                    icon_size=(46, 14), icon_anchor=(23, 7)),
            ).add_to(labels)
        labels.add_to(m)
        # frame the top N zones: on a whole province the zones are too small to read otherwise
        x0, y0, x1, y1 = shapely.total_bounds(np.asarray(zone_geometries(result)[:top], dtype=object))
        bounds = [[y0, x0], [y1, x1]]
    entries = [(TOP_ZONE_COLOR, f"Zona pilota tra le prime {top}"), (OTHER_ZONE_COLOR, "Altra zona pilota"),
               (HOT_COLOR, "Punto caldo (Gi*, errore 5 %)"), (COLD_COLOR, "Punto freddo (Gi*, errore 5 %)")]
    maps.Legend("Zone pilota e punti caldi", entries,
                "Tendenze EHSA: livello nascosto, dal riquadro dei livelli.").add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    if bounds:
        m.fit_bounds(bounds)
    return m
