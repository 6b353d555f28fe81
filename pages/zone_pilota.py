"""Zone pilota: contiguous pilot zones for the CPOSP (pact art. 4), ranked, explained, stress-tested.

The page only draws: indicators, hot spots, zones and robustness come from :mod:`geo.zones.pilot`
(cached on plain keys: database path, data version, filters, weights, bounds, seed), exports
and the map from :mod:`geo.zones.report`.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.access.disclosure import PROTECTED_NOTE
from geo.access.privacy import ROLES, can_see_exact, format_decimal, format_int, format_percent
from geo.data.filters import Filters
from geo.data.storage import open_store
from geo.maps.layers import LEAFLET_APP_URL
from geo.overview import metrics
from geo.zones import backtest, hotspots
from geo.zones import pilot as zones
from geo.zones import report as zone_report
from geo.zones.charts import borda_chart, concentration_chart, contributions_chart, robustness_chart
from geo.zones.priority import PRESETS, normalise_weights
from geo.zones.report import md
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
from pages.intervention_start import start_from_zone
from pages.zone_controls import weight_controls, zone_card, zone_parameters

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

# --------------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------------

user = require_page("view_zones")  # the page's own check, besides the navigation
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
        zone_res, min_km2, max_km2, share, top, seed = zone_parameters(filters)

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

start_from_zone(store, user, z, zone_res)  # only for roles that may register interventions

tab_map, tab_cards, tab_rob, tab_hot, tab_method = st.tabs(
    [":material/map: Mappa e classifica", ":material/style: Schede delle zone", ":material/casino: Robustezza",
     ":material/local_fire_department: Punti caldi e tendenze", ":material/functions: Metodo"]
)

with tab_map:
    tiles = st.radio("Sfondo", options=["osm", "none"], format_func={"osm": "OpenStreetMap",
                                                                      "none": "Nessuno sfondo"}.get,
                     horizontal=True, key="zp_tiles",
                     help="Le tessere OpenStreetMap richiedono internet; zone e confini si vedono comunque.")
    m = zone_report.zone_map(result, comuni=load_comuni(db, version), tiles=tiles, assets_url=LEAFLET_APP_URL)
    st_folium(m, key="zone_pilota_map", height=560, use_container_width=True, returned_objects=[])
    st.subheader("Classifica delle zone")
    table = zone_report.export_table(result, role=role)
    shown = ["Rango", "Zona", "Luogo", "Comuni", "Beneficio atteso (punti × km²)", "Priorità (0-100)",
             "Fattori principali", "Superficie (km²)", "Residenti", "Delitti nel periodo",
             "Affidabilità del tasso per residenti",
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
    st.altair_chart(contributions_chart(z, top=max(top, 10)), width="stretch")
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
                       data=anchored(zone_report.summary_html(result, role=role, comuni=load_comuni(
                           db, version)).encode("utf-8"), "html"),
                       file_name="zone_pilota_riepilogo.html", mime="text/html", key="zp_html",
                       help="Aprire il file nel browser e stampare in PDF: classifica, schede e metodo.")

with tab_cards:
    st.caption(f"Schede delle prime {min(top, len(z))} zone. I nomi di servizi con indirizzo riservato sono visibili "
               "solo ai ruoli abilitati.")
    for row in z.head(top).to_dict("records"):
        with st.expander(f"{row['rank']}. {row['name'] or ', '.join(row['comuni'])} · {row['zone']} · beneficio atteso "
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
            f"{r['zone']} {md(r['name'])} (ranghi "
            + ", ".join(f"{md(p.label)} {r[f'rank_{k}']}" for k, p in PRESETS.items()) + ")"
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
    st.caption(zone_report.concentration_text(summary))
    if n_hot:
        st.markdown(f"**Esagoni punto caldo** (i più caldi, al più {zone_report.HOTSPOT_ROWS}):")
        st.dataframe(zone_report.hotspot_table(result), hide_index=True, width="stretch", key="zp_hot_table")
    classes = hexes[hexes["pattern"] != "none"]["label"].value_counts().rename_axis("Classe").reset_index(
        name="Esagoni")
    st.markdown("**Tendenze degli esagoni** (Gi\\* per trimestre su tutta la serie storica, test di Mann-Kendall):")
    if classes.empty:
        st.caption("Nessun esagono con un andamento significativo.")
    else:
        st.dataframe(classes, hide_index=True, key="zp_classes")

with tab_method:
    st.html(zone_report.method_html(result))
