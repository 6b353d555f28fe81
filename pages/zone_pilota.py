"""Zone pilota: contiguous pilot zones for the CPOSP (pact art. 4), ranked, explained, stress-tested.

The page only draws: indicators, hot spots, zones and robustness come from :mod:`geo.zones.pilot`
(cached on plain keys: database path, data version, filters, weights, bounds, seed), exports
and the map from :mod:`geo.zones.report`.
"""

from __future__ import annotations

import dataclasses
import re

import altair as alt
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.access.disclosure import PROTECTED_NOTE
from geo.access.privacy import ROLES, can_see_exact, format_decimal, format_int, format_percent
from geo.data.filters import Filters
from geo.data.storage import open_store
from geo.overview import metrics
from geo.zones import backtest, hotspots
from geo.zones import pilot as zones
from geo.zones import report as zone_report
from geo.zones.indicators import INDICATOR_KEYS, INDICATORS
from geo.zones.priority import DEFAULT_PRESET, PRESETS, normalise_weights
from pages.common import (
    anchored,
    current_role,
    demo_notice,
    get_store,
    month_label,
    pact_label,
    require_page,
    sidebar_filters,
)

#: Leaflet served by Streamlit's static file serving, relative to the map's iframe (as on the
#: map page): the map works offline.
LEAFLET_URL = "../../app/static/vendor/leaflet"
CUSTOM = "personalizzato"
WEIGHT_MAX = 50
INDICATOR_COLORS = ["#B3261E", "#E6550D", "#6A3D9A", "#8C6D31", "#F2B701", "#1F77B4", "#2CA02C", "#17BECF",
                    "#7F7F7F", "#BCBD22"]


# --------------------------------------------------------------------------------------------
# Cached computations (plain keys only)
# --------------------------------------------------------------------------------------------

@st.cache_data(show_spinner="Calcolo di indicatori, punti caldi e tendenze…", max_entries=8)
def load_prepared(db: str, version: str, filters: Filters) -> zones.Prepared:
    del version  # part of the cache key only
    return zones.prepare(open_store(db), filters)


@st.cache_data(show_spinner="Delimitazione e classifica delle zone…", max_entries=32)
def load_ranking(db: str, version: str, filters: Filters, weights: tuple[tuple[str, float], ...],
                 min_km2: float, max_km2: float, share: float, top: int, seed: int) -> zones.ZoneResult:
    prep = load_prepared(db, version, filters)
    return zones.rank_zones(prep, dict(weights), min_km2=min_km2, max_km2=max_km2, candidate_share=share,
                            top=top, seed=seed)


@st.cache_data(show_spinner=False, max_entries=4)
def load_comuni(db: str, version: str) -> pd.DataFrame:
    del version
    return open_store(db).comuni_geometries()


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def md(text: object) -> str:
    """Text from the data made inert for Streamlit's Markdown (names of schools, services…)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def _apply_preset() -> None:
    key = st.session_state["zp_preset"]
    if key in PRESETS:
        for k in INDICATOR_KEYS:
            st.session_state[f"zp_w_{k}"] = int(PRESETS[key].weights[k])


def weight_controls() -> dict[str, float]:
    """Preset selector and one slider per indicator; returns the relative weights."""
    if "zp_preset" not in st.session_state:
        st.session_state["zp_preset"] = DEFAULT_PRESET
        _apply_preset()
    options = [*PRESETS, CUSTOM]
    st.selectbox(
        "Profilo di pesi", options=options, key="zp_preset", on_change=_apply_preset,
        format_func=lambda k: PRESETS[k].label if k in PRESETS else "Personalizzato (cursori)",
        help="I profili rappresentano i punti di vista al tavolo del CPOSP; i cursori li modificano.",
    )
    preset = st.session_state["zp_preset"]
    if preset in PRESETS:
        st.caption(PRESETS[preset].description)
    with st.form("zp_weights", border=False):
        cols = st.columns(2)
        for i, k in enumerate(INDICATOR_KEYS):
            ind = INDICATORS[k]
            cols[i % 2].slider(ind.label, min_value=0, max_value=WEIGHT_MAX, step=1, key=f"zp_w_{k}",
                               help=f"{ind.definition} Unità: {ind.unit}. Fonte: {ind.source}.")
        st.form_submit_button("Applica i pesi", type="primary")
    weights = {k: float(st.session_state[f"zp_w_{k}"]) for k in INDICATOR_KEYS}
    if preset in PRESETS and any(weights[k] != PRESETS[preset].weights[k] for k in INDICATOR_KEYS):
        st.caption(f"Pesi modificati a partire dal profilo «{PRESETS[preset].label}».")
    return weights


def contributions_chart(z: pd.DataFrame) -> alt.Chart:
    """Stacked bars: each zone's priority split into the contributions of the indicators."""
    long = z.melt(id_vars=["zone", "rank"], value_vars=[f"c_{k}" for k in INDICATOR_KEYS], var_name="key",
                  value_name="points")
    long["indicatore"] = long["key"].str[2:].map(lambda k: INDICATORS[k].label)
    order = [INDICATORS[k].label for k in INDICATOR_KEYS]
    return (
        alt.Chart(long[long["points"] > 0], title="Contributi degli indicatori alla priorità")
        .mark_bar()
        .encode(
            y=alt.Y("zone:N", sort=list(z["zone"]), title=None),
            x=alt.X("points:Q", title="Punti di priorità (0-100)", stack="zero"),
            color=alt.Color("indicatore:N", sort=order, scale=alt.Scale(domain=order, range=INDICATOR_COLORS),
                            legend=alt.Legend(title=None, orient="bottom", columns=3)),
            order=alt.Order("key:N"),
            tooltip=[alt.Tooltip("zone:N", title="Zona"), alt.Tooltip("indicatore:N", title="Indicatore"),
                     alt.Tooltip("points:Q", title="Punti", format=".1f")],
        )
        .properties(height=max(160, 24 * len(z)))
    )


def robustness_chart(z: pd.DataFrame, top: int) -> alt.Chart:
    data = z[["zone", "p_top", "rank"]].assign(p=lambda d: d["p_top"] * 100)
    return (
        alt.Chart(data, title=f"Probabilità di restare tra le prime {top} (pesi ± 20 %)")
        .mark_bar(color="#0066CC")
        .encode(
            y=alt.Y("zone:N", sort=list(data["zone"]), title=None, axis=alt.Axis(labelOverlap=False)),
            x=alt.X("p:Q", title="% delle simulazioni", scale=alt.Scale(domain=[0, 100])),
            tooltip=[alt.Tooltip("zone:N", title="Zona"), alt.Tooltip("p:Q", title="%", format=".0f")],
        )
        .properties(height=max(160, 22 * len(data)))
    )


def borda_chart(z: pd.DataFrame) -> alt.Chart:
    cols = {f"rank_{k}": p.label for k, p in PRESETS.items()}
    long = z[["zone", *cols]].melt(id_vars="zone", var_name="key", value_name="rango")
    long["profilo"] = long["key"].map(cols)
    base = alt.Chart(long, title="Rango della zona secondo ciascun profilo").encode(
        x=alt.X("profilo:N", sort=list(cols.values()), title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("zone:N", sort=list(z["zone"]), title=None, axis=alt.Axis(labelOverlap=False)),
    )
    rect = base.mark_rect().encode(
        color=alt.Color("rango:Q", scale=alt.Scale(scheme="reds", reverse=True), legend=alt.Legend(title="Rango")),
        tooltip=[alt.Tooltip("zone:N", title="Zona"), alt.Tooltip("profilo:N", title="Profilo"),
                 alt.Tooltip("rango:Q", title="Rango")],
    )
    text = base.mark_text(fontSize=11).encode(text="rango:Q")
    return (rect + text).properties(height=max(160, 22 * len(z)))


def concentration_chart(curve: pd.DataFrame) -> alt.Chart:
    step = max(1, len(curve) // 800)
    data = curve.iloc[::step].assign(area=lambda d: d["share_area"] * 100, inc=lambda d: d["share_incidents"] * 100)
    line = alt.Chart(data, title="Concentrazione: % dei delitti nel % di superficie").mark_line(color="#B3261E").encode(
        x=alt.X("area:Q", title="% della superficie (esagoni dal più denso)"),
        y=alt.Y("inc:Q", title="% dei delitti"),
    )
    diagonal = alt.Chart(pd.DataFrame({"area": [0, 100], "inc": [0, 100]})).mark_line(
        strokeDash=[4, 4], color="#888").encode(x="area:Q", y="inc:Q")
    return (line + diagonal).properties(height=280)


def zone_card(row: dict, *, role: str, top: int) -> None:
    """One zone card: figures, drivers, trend, exposure, lighting, robustness."""
    fig = zone_report.zone_figures(row, role)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Priorità", format_decimal(row["priority"], 1), help="Punti da 0 a 100: somma dei contributi.")
    c2.metric("Superficie", f"{format_decimal(row['area_km2'], 2)} km²")
    c3.metric("Residenti", format_int(row["residents"]))
    c4.metric("Delitti nel periodo", zone_report.zone_incidents(row, role))
    drivers = " · ".join(f"**{md(INDICATORS[k].label)}** {format_decimal(row[f'c_{k}'], 1)} punti"
                         for k in row["drivers"])
    st.markdown(f"**Comuni:** {md(', '.join(row['comuni']))}  \n**Fattori principali:** {drivers or '–'}")
    night = zone_report.MISSING_TOTAL if fig is None else format_percent(fig["night_share"])
    rate = zone_report.MISSING_TOTAL if fig is None else format_decimal(fig["harm_rate"], 1)
    st.markdown(
        f"**Tendenza (EHSA):** {md(row['trend_class'])} ({row['trend_class_cells']} esagoni su {row['n_cells']}); "
        f"delitti {md(zone_report.trend_text(row))}  \n"
        f"**Quota notturna:** {night} · **Danno per 1.000 residenti/anno:** {rate} · "
        f"**Esagoni punto caldo (Gi\\*):** {row['hot_cells']}"
    )
    schools = ", ".join(row["school_names"][:8]) + (f" e altre {len(row['school_names']) - 8}"
                                                    if len(row["school_names"]) > 8 else "")
    st.markdown(
        f"**Scuole:** {row['schools']}{' (' + md(schools) + ')' if schools else ''}  \n"
        f"**Servizi per persone senza dimora:** {md(zone_report.services_text(row, role))}  \n"
        f"**Segnalazioni aperte:** {row['reports_open']} (gravità totale {row['reports_severity']}"
        f"{'; ' + md(', '.join(row['report_categories'])) if row['report_categories'] else ''}) · "
        f"**Segnalazioni di bivacco o marginalità:** {row['homeless_reports']} · "
        f"**Beni confiscati riutilizzabili:** {row['confiscated']} (su {row['confiscated_all']})"
    )
    st.dataframe(zone_report.indicator_rows(row, role), hide_index=True, width="stretch",
                 key=f"zp_ind_{row['zone']}",
                 column_config={"Punteggio (0-1)": st.column_config.ProgressColumn(min_value=0, max_value=1,
                                                                                  format="%.2f")})
    st.markdown(
        f"**Illuminazione:** {format_int(row['lights'])} punti luce "
        f"({format_decimal(row['lights_per_1000'], 0)} per 1.000 residenti), guasti "
        f"{format_percent(row['lights_broken_share'], 1)}, tecnologie da sostituire "
        f"{format_percent(row['lights_old_share'], 0)}, carenza stimata {format_percent(row['lighting_deficit'])}"
    )
    disagree = " · **i profili non concordano**" if row["disagreement"] else ""
    st.markdown(
        f"**Robustezza:** tra le prime {top} nel {format_percent(row['p_top'])} delle simulazioni, rango "
        f"{int(row['rank_p05'])}-{int(row['rank_p95'])} (5-95 %); stabilità del perimetro "
        f"{format_percent(row['footprint'])}; rango di consenso (Borda) {row['consensus_rank']}{disagree}"
    )


# --------------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------------

require_page("view_zones")  # the page's own check, besides the navigation
store = get_store()
st.title("Zone pilota")
st.caption(
    f"{pact_label('zone_pilota')}: il CPOSP e i Comuni individuano le aree urbane per una prima fase pilota di "
    "interventi integrati di sicurezza, inclusione sociale e decoro. Lanterna propone aree **contigue**, classificate, "
    "con le ragioni di ogni posizione e la loro robustezza al variare dei pesi."
)
demo_notice(store)
filters = sidebar_filters(store)
role = current_role()
cleared = can_see_exact(role)
db, version = str(store.path), metrics.data_version(store)

with st.expander(":material/tune: Pesi e parametri delle zone", expanded=True):
    left, right = st.columns([3, 2], gap="large")
    with left:
        raw_weights = weight_controls()
    with right:
        res_options = [9, 8, 10] if filters.comuni else [9, 8]
        zone_res = st.selectbox(
            "Risoluzione degli esagoni delle zone", options=res_options, key="zp_res",
            format_func=lambda r: {8: "8 (≈ 0,74 km²)", 9: "9 (≈ 0,11 km²)", 10: "10 (≈ 0,015 km²)"}[r],
            help="Le zone sono unioni di esagoni; questa scelta non dipende dalla risoluzione della mappa nella barra "
                 "laterale. La risoluzione 10 è disponibile scegliendo dei comuni.",
        )
        min_km2, max_km2 = st.slider("Superficie di una zona (km²)", min_value=0.1, max_value=10.0,
                                     value=(zones.DEFAULT_MIN_KM2, zones.DEFAULT_MAX_KM2), step=0.1, key="zp_bounds")
        share = st.slider("Esagoni candidati (% più prioritari)", min_value=2, max_value=40,
                          value=int(zones.DEFAULT_CANDIDATE_SHARE * 100), step=1, key="zp_share",
                          help="Le zone nascono dagli esagoni con priorità più alta: questa è la loro quota tra gli "
                               "esagoni con priorità positiva.") / 100
        top = int(st.number_input("N per la robustezza (prime N zone)", min_value=1, max_value=50,
                                  value=zones.DEFAULT_TOP, key="zp_top"))
        seed = int(st.number_input("Seme delle simulazioni", min_value=0, max_value=2**31 - 1, value=0,
                                   key="zp_seed", help="Stesso seme, stessa classifica e stesse probabilità."))

if sum(raw_weights.values()) <= 0:
    st.warning("Tutti i pesi sono a zero: assegnare un peso ad almeno un indicatore.")
    st.stop()
weights = normalise_weights(raw_weights)
zone_filters = dataclasses.replace(filters, res=zone_res)
try:
    result = load_ranking(db, version, zone_filters, tuple((k, round(float(v), 6)) for k, v in weights.items()),
                          float(min_km2), float(max_km2), float(share), top, seed)
except ValueError as exc:
    st.error(str(exc))
    st.stop()

z = result.zones
start, end = result.params["period"]
period_text = f"{month_label(start)} – {month_label(end)}" if start and end else "nessun delitto caricato"
st.caption(
    f"Periodo dei delitti: **{period_text}** · esagoni H3 di risoluzione {zone_res} · "
    f"{len(z)} zone di {format_decimal(min_km2, 1)}–{format_decimal(max_km2, 1)} km² · "
    f"ruolo *{md(ROLES.get(role, role))}*"
    + ("" if cleared else f" ({PROTECTED_NOTE})")
)
absent = zone_report.absent_note(result)
if absent:
    st.info(absent, icon=":material/layers_clear:")
if z.empty:
    st.info("Nessuna zona individuata: nessun esagono ha priorità positiva con questi pesi e filtri.")
    st.stop()

k1, k2, k3, k4 = st.columns(4)
k1.metric("Zone individuate", format_int(len(z)))
k2.metric(f"Stabili tra le prime {top}", format_int(int((z['p_top'] >= 0.9).sum())),
          help="Zone che restano tra le prime N in almeno il 90 % delle simulazioni con pesi ± 20 %.")
k3.metric("Zone su cui i profili non concordano", format_int(int(z["disagreement"].sum())))
summary = result.concentration_summary
k4.metric("Delitti nel 5 % della superficie", format_percent(summary["incidents_in_area"][0.05]),
          help="Quota dei delitti del periodo negli esagoni più densi che coprono il 5 % del territorio.")

tab_map, tab_cards, tab_rob, tab_hot, tab_method = st.tabs(
    [":material/map: Mappa e classifica", ":material/style: Schede delle zone", ":material/casino: Robustezza",
     ":material/local_fire_department: Punti caldi e tendenze", ":material/functions: Metodo"]
)

with tab_map:
    tiles = st.radio("Sfondo", options=["osm", "none"], format_func={"osm": "OpenStreetMap",
                                                                      "none": "Nessuno sfondo"}.get,
                     horizontal=True, key="zp_tiles",
                     help="Le tessere OpenStreetMap richiedono internet; zone e confini si vedono comunque.")
    m = zone_report.zone_map(result, comuni=load_comuni(db, version), tiles=tiles, assets_url=LEAFLET_URL)
    st_folium(m, key="zone_pilota_map", height=560, use_container_width=True, returned_objects=[])
    st.subheader("Classifica delle zone")
    table = zone_report.export_table(result, role=role)
    shown = ["Rango", "Zona", "Comuni", "Beneficio atteso (punti × km²)", "Priorità (0-100)", "Fattori principali",
             "Superficie (km²)", "Residenti", "Delitti nel periodo", "Affidabilità del tasso per residenti",
             "Esagoni punto caldo (Gi*)", "Tendenza (EHSA)", f"P(tra le prime {top})", "Rango di consenso (Borda)",
             "Disaccordo tra profili"]
    st.dataframe(
        table[shown], hide_index=True, width="stretch", key="zp_table",
        column_config={
            "Priorità (0-100)": st.column_config.ProgressColumn("Priorità", min_value=0, max_value=100,
                                                                format="%.1f"),
            f"P(tra le prime {top})": st.column_config.NumberColumn(format="percent"),
            "Beneficio atteso (punti × km²)": st.column_config.NumberColumn(format="%.1f"),
        },
    )
    st.caption("Le zone sono ordinate per **beneficio atteso** = priorità media × superficie: a parità di priorità, "
               "una zona più ampia raggiunge più persone e luoghi. L'affidabilità dice quanto il tasso per residenti "
               "della zona poggia sui suoi dati (bassa: pochi residenti, il tasso è avvicinato alla media).")
    st.altair_chart(contributions_chart(z.head(max(top, 10))), width="stretch")
    st.caption("Ogni barra è la priorità media della zona; i segmenti sono i contributi (peso × punteggio × 100) e "
               "sommano esattamente alla priorità.")
    st.subheader("Esportazioni")
    d1, d2, d3 = st.columns(3)
    d1.download_button(":material/download: Classifica CSV",
                       data=anchored(zone_report.ranking_csv(result, role=role), "csv"),
                       file_name="zone_pilota.csv", mime="text/csv", key="zp_csv",
                       help="UTF-8 con BOM, separatore ';' e virgola decimale (Excel in italiano).")
    d2.download_button(":material/download: Zone GeoJSON",
                       data=anchored(zone_report.ranking_geojson(result, role=role).encode("utf-8"), "geojson"),
                       file_name="zone_pilota.geojson", mime="application/geo+json", key="zp_geojson")
    d3.download_button(":material/print: Riepilogo stampabile (HTML)",
                       data=anchored(zone_report.summary_html(result, role=role).encode("utf-8"), "html"),
                       file_name="zone_pilota_riepilogo.html", mime="text/html", key="zp_html",
                       help="Aprire il file nel browser e stampare in PDF: classifica, schede e metodo.")

with tab_cards:
    st.caption(f"Schede delle prime {min(top, len(z))} zone. I nomi di servizi con indirizzo riservato sono visibili "
               "solo ai ruoli abilitati.")
    for row in z.head(top).to_dict("records"):
        with st.expander(f"{row['zone']} · {', '.join(row['comuni'])} · beneficio atteso "
                         f"{format_decimal(row['benefit'], 1)} · priorità {format_decimal(row['priority'], 1)}",
                         expanded=row["rank"] == 1):
            zone_card(row, role=role, top=top)

with tab_rob:
    st.markdown(
        f"**Monte Carlo.** {result.params['draws']} simulazioni: ogni peso è moltiplicato per un fattore casuale "
        f"tra 0,8 e 1,2 (seme {seed}); le zone restano quelle delimitate, cambia solo il loro ordine. "
        "**Consenso di Borda.** Ogni profilo ordina le stesse zone; la somma dei punti (numero di zone − rango) "
        "dà il rango di consenso; c'è disaccordo quando una zona è tra le prime N per alcuni profili e non per altri."
    )
    head = z.head(max(top * 2, 10))
    c1, c2 = st.columns(2)
    c1.altair_chart(robustness_chart(head, top), width="stretch")
    c2.altair_chart(borda_chart(head), width="stretch")
    disagree = z[z["disagreement"]]
    if len(disagree):
        st.markdown("**Zone su cui i punti di vista divergono:** " + ", ".join(
            f"{r['zone']} (ranghi " + ", ".join(f"{md(p.label)} {r[f'rank_{k}']}" for k, p in PRESETS.items()) + ")"
            for r in disagree.head(10).to_dict("records")))

with tab_hot:
    hexes = result.hexes
    n_hot = int((hexes["hotspot"] == hotspots.HOT).sum())
    n_cold = int((hexes["hotspot"] == hotspots.COLD).sum())
    a1, a2, a3 = st.columns(3)
    a1.metric("Esagoni punto caldo (Gi*, errore 5 %)", format_int(n_hot),
              help="Test di permutazione sul massimo (Westfall-Young): in assenza di qualunque struttura "
                   "spaziale, al più 5 analisi su 100 mostrano anche un solo esagono caldo o freddo.")
    a2.metric("Esagoni punto freddo", format_int(n_cold))
    a3.metric("Superficie con metà dei delitti", format_percent(summary["area_for_incidents"][0.5], 1),
              help="La più piccola quota della superficie, presa dagli esagoni più densi, che contiene il 50 % "
                   "dei delitti del periodo.")
    prep = load_prepared(db, version, zone_filters)
    st.markdown("  \n".join(backtest.evidence_lines(n_hot, prep.noise, prep.back)))
    st.altair_chart(concentration_chart(result.concentration), width="stretch")
    st.caption(
        "Come nei rapporti di *risk terrain* e di *hot spot policing*: "
        + "; ".join(f"{format_percent(v)} dei delitti nel {format_percent(k)} più denso della superficie"
                    for k, v in summary["incidents_in_area"].items())
        + f"; indice di concentrazione (Gini) {format_decimal(summary['gini'], 2)}."
    )
    classes = hexes[hexes["pattern"] != "none"]["label"].value_counts().rename_axis("Classe").reset_index(
        name="Esagoni")
    st.markdown("**Tendenze degli esagoni** (Gi\\* per trimestre su tutta la serie storica, test di Mann-Kendall):")
    if classes.empty:
        st.caption("Nessun esagono con un andamento significativo.")
    else:
        st.dataframe(classes, hide_index=True, key="zp_classes")

with tab_method:
    st.html(zone_report.method_html(result))
