"""What the Servizi senza dimora page shows, built here so that the page only places it: the
hours and coverage charts, the tables with Italian headers and number formats, the map of the
visible services, the KPI cards, the method text and a default position for a new service."""

from __future__ import annotations

import altair as alt
import folium
import numpy as np
import pandas as pd
import shapely

from geo import config
from geo.access.privacy import format_decimal, format_int, format_percent
from geo.data import hexgrid
from geo.data.schemas import SERVICE_TYPES
from geo.services import homeless as hl
from geo.services.opening_hours import DAY_LABELS, MONTH_LABELS

#: More settled hexagons than this and the map uses resolution 9.
MAX_RES10_CELLS = 6000
TYPE_OPTIONS = [hl.ANY, *SERVICE_TYPES]


def type_label(key: str) -> str:
    return "Tutti i servizi" if key == hl.ANY else SERVICE_TYPES[key]


def hours_chart(data: pd.DataFrame, title: str) -> alt.LayerChart:
    """Hours (columns) x days (rows): services open; hours with none in red."""
    base = alt.Chart(data).encode(
        x=alt.X("hour:O", title="Ora del giorno", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("giorno:N", sort=list(DAY_LABELS), title=None, axis=alt.Axis(labelOverlap=False)),
        tooltip=[alt.Tooltip("giorno:N", title="Giorno"), alt.Tooltip("hour:O", title="Ora"),
                 alt.Tooltip("open_services:Q", title="Servizi aperti"),
                 alt.Tooltip("open_minutes:Q", title="Minuti con almeno un servizio aperto")],
    )
    top = max(int(data["open_services"].max()), 1)
    rect = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.condition("datum.no_service", alt.value("#c62828"),
                            alt.Color("open_services:Q", title="Servizi aperti",
                                      scale=alt.Scale(scheme="blues", domain=[0, top]),
                                      legend=alt.Legend(format="d", tickMinStep=1))))
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text("open_services:Q"),
        color=alt.condition("datum.no_service", alt.value("white"), alt.value("#1a1a1a")))
    return (rect + text).properties(height=alt.Step(30), title=title)


def hours_caption(data: pd.DataFrame) -> str:
    empty = int(data["no_service"].sum())
    return ((f"In rosso le {empty} ore della settimana senza alcun servizio di questo tipo aperto (nemmeno per un "
             "minuto). " if empty else "Nessuna ora della settimana senza almeno un servizio aperto. ")
            + "Numero: servizi aperti in qualche minuto dell'ora. Servizi dei comuni scelti, compresi quelli con "
              "indirizzo riservato (gli orari non ne rivelano la posizione).")


def coverage_chart(per_comune: pd.DataFrame, near_m: float) -> alt.Chart:
    """Share of each comune's residents within ``near_m`` of a service, and the types present."""
    data = pd.DataFrame({"comune": per_comune["nome"], "quota": per_comune["share_near"].fillna(0) * 100,
                         "tipi": per_comune["n_types"], "servizi": per_comune["services"]})
    return alt.Chart(data).mark_bar(color="#009E73").encode(
        y=alt.Y("comune:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=220)),
        x=alt.X("quota:Q", title=f"Residenti entro {format_int(near_m)} m a piedi da un servizio (%)",
                scale=alt.Scale(domain=[0, 100])),
        tooltip=[alt.Tooltip("comune:N", title="Comune"), alt.Tooltip("quota:Q", title="%", format=".1f"),
                 alt.Tooltip("servizi:Q", title="Servizi censiti"), alt.Tooltip("tipi:Q", title="Tipi presenti")],
    ).properties(height=alt.Step(22), title="Copertura per comune")


def italian(table: pd.DataFrame):
    """A Styler showing numbers with Italian separators (numbers stay numbers for sorting)."""
    formats = {}
    for col in table.columns:
        if pd.api.types.is_float_dtype(table[col]):
            formats[col] = lambda v: format_decimal(v, 0 if float(v).is_integer() else 1)
        elif pd.api.types.is_integer_dtype(table[col]):
            formats[col] = format_int
    return table.style.format(formats, na_rep="–").hide(axis="index")


def type_detail(per_comune: pd.DataFrame, near_m: float) -> pd.DataFrame:
    """One row per comune and service type: present, share of residents near, median distance."""
    rows = []
    for rec in per_comune.to_dict("records"):
        for t, label in SERVICE_TYPES.items():
            median = rec[f"median_{t}"]
            rows.append({"Comune": rec["nome"], "Tipo di servizio": label,
                         "Presente nel comune": "sì" if t in rec["types_present"] else "no",
                         f"Residenti entro {format_int(near_m)} m (%)": round(rec[f"near_{t}"] * 100, 1)
                         if pd.notna(rec[f"near_{t}"]) else None,
                         "Distanza mediana a piedi (m)": None if pd.isna(median) or not np.isfinite(median)
                         else round(median)})
    return pd.DataFrame(rows)


def hours_table(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`geo.services.homeless.hours_summary` with Italian headers."""
    return pd.DataFrame({
        "Tipo di servizio": summary["label"], "Servizi con orario": summary["services"],
        "Ore aperte a settimana": summary["hours_open"].round(1),
        "Ore senza servizio": summary["hours_without"].round(1), "Fasce orarie scoperte": summary["empty_slots"],
        "Interruzione più lunga (ore)": summary["longest_gap_h"].round(1),
        "Notti coperte (22-6)": summary["nights_covered"],
        "Aperto 24 ore su 24": ["sì" if v else "no" for v in summary["always_open"]],
    })


def kpis(in_area: pd.DataFrame, visible_in_area: pd.DataFrame, summary: pd.DataFrame, per_comune: pd.DataFrame,
         gaps: hl.Gaps, *, month: int, near_m: float) -> list[dict]:
    """The five KPI cards (label, value, help) of the page."""
    any_row = summary[summary["type"] == hl.ANY].iloc[0]
    covered_types = sum(1 for t in SERVICE_TYPES if any(t in list(v) for v in in_area["types"]))
    residents = per_comune["residents"].sum()
    near_share = (per_comune["share_near"] * per_comune["residents"]).sum() / residents if residents else None
    hidden = len(in_area) - len(visible_in_area)
    return [
        {"label": "Servizi censiti", "value": format_int(len(in_area)),
         "help": f"Di cui {hidden} con indirizzo riservato, non visibili a questo profilo." if hidden else None},
        {"label": "Tipi dell'art. 14 presenti", "value": f"{covered_types} su {len(SERVICE_TYPES)}", "help": None},
        {"label": "Ore settimanali senza alcun servizio aperto", "value": format_decimal(any_row["hours_without"], 1),
         "help": f"Settimana tipo di {MONTH_LABELS[month - 1]}; l'art. 14 chiede l'apertura 24 ore."},
        {"label": f"Residenti entro {format_int(near_m)} m da un servizio", "value": format_percent(near_share),
         "help": "Distanza a piedi stimata (linea d'aria × 1,3) verso i servizi visibili a questo profilo."},
        {"label": "Aree prioritarie", "value": format_int(len(gaps.areas)),
         "help": f"Di cui nel capoluogo: {int(gaps.areas['capoluogo'].sum())}."},
    ]


def coverage_map(coverage: pd.DataFrame, visible: pd.DataFrame, comuni_geo: pd.DataFrame, *,
                 comuni: tuple[str, ...], service_type: str, gaps: hl.Gaps, role: str | None, tiles: str,
                 assets_url: str | None) -> tuple[folium.Map, int]:
    """The coverage map of the chosen comuni (all when none) and its hexagon resolution: 10 when
    the chosen comuni have at most :data:`MAX_RES10_CELLS` settled hexagons, else 9."""
    cells = coverage if not comuni else coverage[coverage["pro_com_t"].isin(comuni)]
    res = config.STORE_RES if comuni and len(cells) <= MAX_RES10_CELLS else hl.GAP_RES
    frame = hl.map_cells(cells, service_type=service_type, res=res)
    frame["comune"] = frame["pro_com_t"].map(dict(zip(comuni_geo["pro_com_t"], comuni_geo["nome"], strict=True)))
    shown = visible if not comuni else visible[visible["pro_com_t"].isin(comuni)]
    if service_type != hl.ANY:
        shown = shown[[service_type in list(t) for t in shown["types"]]]
    m = hl.coverage_map(frame, service_type=service_type, services=shown, gaps=gaps, role=role, comuni=comuni_geo,
                        tiles=tiles, assets_url=assets_url)
    return m, res


def map_caption(res: int, hidden: int) -> str:
    weighted = ", media pesata sui residenti" if res != config.STORE_RES else ""
    return (f"Esagoni abitati (risoluzione {res}{weighted}) colorati per distanza a piedi dal servizio più vicino del "
            "tipo scelto, di qualsiasi comune. "
            + ("" if not hidden else f"{hidden} servizi con indirizzo riservato non sono mostrati né usati per le "
                                     "distanze: la loro posizione si potrebbe ricostruire dalle distanze."))


def gaps_caption(period: str, far_m: float) -> str:
    return (f"Esagoni di risoluzione 9 (≈ 0,1 km²) con almeno {hl.MIN_SIGNALS} segnali di marginalità nel periodo "
            f"{period} (segnalazioni di bivacco, occupazione abusiva, spaccio o assembramenti non respinte; delitti "
            f"in materia di stupefacenti) e oltre {format_int(far_m)} m a piedi dal servizio visibile più vicino; "
            "esagoni contigui formano un'area. Prima le aree del capoluogo (art. 14), poi per numero di segnali. "
            "Per i profili senza abilitazione i delitti sono conteggi protetti con il metodo della chiave di cella; "
            f"da 1 a {hl.MIN_SIGNALS - 1} segnalazioni sono indicate «< {hl.MIN_SIGNALS}» e il totale dei segnali "
            "come intervallo («da 6 a 7»).")


def service_centre(store, code: str) -> tuple[float, float]:
    """A default position for a new service of comune ``code``: its most populated hexagon (a point
    inside its boundary when it has no hexagons)."""
    ctx = store.cell_context(config.STORE_RES, comuni=[code])
    if ctx.empty:
        geoms = store.comuni_geometries()
        wkb = geoms.loc[geoms["pro_com_t"] == code, "geometry_wkb"]
        if not len(wkb):
            raise KeyError(f"Comune {code} non trovato nel territorio.")
        pt = shapely.from_wkb(bytes(wkb.iloc[0])).representative_point()
        return round(pt.y, 6), round(pt.x, 6)
    lat, lon = hexgrid.cell_centers(np.asarray([ctx.sort_values("residents").iloc[-1]["cell"]], dtype=np.int64))
    return round(float(lat[0]), 6), round(float(lon[0]), 6)


METHOD = f"""
**Distanza a piedi.** Linea d'aria × {format_decimal(hl.DETOUR_FACTOR, 1)} (rapporto medio tra percorso stradale e
linea d'aria nelle città), dal centro di ogni esagono abitato (risoluzione 10, almeno un residente stimato) al
servizio più vicino di ogni tipo, in qualunque comune. Ostacoli come fiumi, ferrovie e pendii non sono visti.
Minuti a piedi a {format_int(hl.WALK_M_PER_MIN)} m al minuto (4,8 km/h).

**Orari.** Sintassi OpenStreetMap «opening_hours»; un'ora di un giorno è «senza servizio» se nessun servizio del
tipo è aperto in alcun minuto di quell'ora. Le regole separate da «;» sostituiscono gli orari precedenti per gli
stessi giorni (come in OpenStreetMap): le note sugli orari lo segnalano.

**Aree prioritarie.** Segnali di marginalità (segnalazioni di bivacco, occupazione abusiva, spaccio o assembramenti
non respinte; delitti in materia di stupefacenti) per esagono di risoluzione 9; almeno {hl.MIN_SIGNALS} segnali e
oltre la distanza scelta da ogni servizio visibile; esagoni contigui formano un'area.

**Riservatezza.** Le strutture con indirizzo non pubblico sono visibili solo a Prefettura, Forze di polizia e al
Comune in cui si trovano; distanze e aree sono calcolate solo sui servizi visibili al profilo. I conteggi dei
segnali di marginalità sotto {hl.MIN_SIGNALS} sono mascherati per i profili senza abilitazione.

Dettagli e fonti: `docs/SCUOLE_SERVIZI.md`.
"""
