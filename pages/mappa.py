"""Mappa integrata: incidents, lighting, reports, schools and services on H3 hexagons.

A thin view: figures come from :mod:`geo.overview.metrics`, the map from :mod:`geo.maps.layers`, what a role may
see from :mod:`geo.access.privacy`. Heavy results are cached on plain keys (database path, data
version, filters, clearance), never on GeoDataFrames.
"""

from __future__ import annotations

import altair as alt
import h3
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.access.disclosure import PROTECTED_NOTE
from geo.access.privacy import can_see_exact, format_int
from geo.data.filters import Filters
from geo.data.storage import open_store
from geo.maps import layers as maps
from geo.maps.classes import SCHEMES
from geo.maps.layers import LEAFLET_APP_URL
from geo.overview import metrics
from geo.overview.places import place_label
from geo.reports import workflow as reports
from geo.zones import backtest
from geo.zones.report import md
from pages.common import (
    anchored,
    current_role,
    current_user,
    demo_notice,
    get_store,
    month_label,
    require_page,
    role_caption,
    sidebar_filters,
)

DEFAULT_LAYERS = ["schools", "services", "confiscated"]
SELECTED = "mappa_cella"  # session key of the selected hexagon (int) or None


@st.cache_data(show_spinner="Calcolo degli indicatori per esagono…", max_entries=48)
def load_frame(db: str, version: str, filters: Filters, private_services: bool) -> pd.DataFrame:
    del version  # part of the cache key only
    return metrics.hex_metrics(open_store(db), filters, include_private_services=private_services)


@st.cache_data(show_spinner=False, max_entries=48)
def load_kpis(db: str, version: str, filters: Filters, private_services: bool) -> metrics.Kpis:
    frame = load_frame(db, version, filters, private_services)
    return metrics.kpis(open_store(db), filters, frame=frame)


@st.cache_data(show_spinner=False, max_entries=4)
def load_comuni(db: str, version: str) -> pd.DataFrame:
    del version
    return open_store(db).comuni_geometries()


@st.cache_data(show_spinner=False, max_entries=32)
def load_points(db: str, version: str, table: str, comuni: tuple[str, ...]) -> pd.DataFrame:
    del version
    return open_store(db).points(table, comuni=list(comuni) or None)


@st.cache_data(show_spinner="Test dei punti caldi (199 rimescolamenti)…", max_entries=16)
def load_evidence(db: str, version: str, filters: Filters) -> backtest.Evidence:
    del version
    return backtest.map_evidence(open_store(db), filters)


def on_map_click() -> None:
    """st_folium callback, run before the rerun: the clicked point becomes the selected hexagon."""
    value = st.session_state.get("mappa") or {}
    clicked = value.get("last_object_clicked")
    res = st.session_state.get("mappa_res")
    if clicked and res and clicked.get("lat") is not None:
        st.session_state[SELECTED] = h3.str_to_int(h3.latlng_to_cell(clicked["lat"], clicked["lng"], res))


def kpi_strip(k: metrics.Kpis, role: str) -> None:
    cards = metrics.kpi_cards(k, role)
    for start in range(0, len(cards), 4):
        for col, card in zip(st.columns(4), cards[start:start + 4], strict=False):
            col.metric(card.label, card.value, card.delta, delta_color=card.delta_color, help=card.help, border=True)


def details_panel(store, frame: pd.DataFrame, filters: Filters, role: str, metric: str) -> None:
    """The selected hexagon: a picker (the keyboard way to select), its figures and its months."""
    st.subheader("Dettagli dell'esagono")
    spec = metrics.METRICS[metric]
    ordered = metrics.sort_for_role(frame, spec.column, role)
    display, _ = metrics.suppress_frame(ordered, role, columns=[spec.column])
    labels = {int(c): f"{place_label(p, n)} · {h} · {v}" for c, p, n, h, v in
              zip(ordered["cell"], ordered["place"], ordered["comune"], ordered["h3"], display[spec.column],
                  strict=True)}
    if st.session_state.get(SELECTED) not in labels:
        st.session_state[SELECTED] = None
    cell = st.selectbox(
        "Esagono selezionato", options=list(labels), key=SELECTED, format_func=labels.get,
        placeholder="Nessuno: fare clic sulla mappa", help=f"Ordinati per «{spec.label}», dal valore più alto.",
    )
    if cell is None:
        st.info("Fare clic su un esagono della mappa, o sceglierlo qui sopra, per vederne i dati per livello "
                "e l'andamento mensile dei delitti.")
        return
    details = metrics.cell_details(store, cell, filters, frame=frame)
    place = place_label(details.figures.get("place"), details.comune)
    st.markdown(f"**{md(place)}** · esagono `{details.h3}` (risoluzione {details.res})")
    st.dataframe(metrics.details_table(details, role), hide_index=True, width="stretch")
    series = metrics.details_series(details, role)
    if series.empty:
        st.caption("Nessun dato sui delitti nel periodo.")
        return
    series = series.assign(mese=[month_label(m) for m in series["month"]])
    order = list(series["mese"])
    base = alt.Chart(series).encode(x=alt.X("mese:O", sort=order, title=None, axis=alt.Axis(labelAngle=-45)))
    tooltip = [alt.Tooltip("mese:N", title="Mese"), alt.Tooltip("shown:N", title="Delitti")]
    bars = base.mark_bar(color="#0066CC").encode(y=alt.Y("incidents:Q", title="Delitti"), tooltip=tooltip)
    st.altair_chart(bars.properties(height=200, title="Delitti per mese"), width="stretch")


@st.fragment
def map_and_details(store, frame: pd.DataFrame, filters: Filters, role: str, *, metric: str, scheme: str,
                    points: dict[str, pd.DataFrame], tiles: str, comuni: pd.DataFrame,
                    report_text: frozenset[str] | None = None, evidence: backtest.Evidence | None = None) -> None:
    """The map and the details beside it. A fragment: a click on the map reruns only this part,
    not the KPI strip and the table."""
    left, right = st.columns([3, 1.3], gap="medium")
    with left:
        try:
            m = maps.build_map(frame, role=role, metric=metric, scheme=scheme, comuni=comuni, points=points,
                               tiles=tiles, assets_url=LEAFLET_APP_URL, report_text_comuni=report_text)
        except maps.TooManyCellsError as exc:
            st.warning(str(exc))
        else:
            st.session_state["mappa_res"] = filters.res
            selected = st.session_state.get(SELECTED)
            overlays = [] if evidence is None else [
                maps.outline_layer(evidence.hot_cells, name="Punti caldi", color=maps.HOT_OUTLINE),
                maps.outline_layer(evidence.cold_cells, name="Punti freddi", color=maps.COLD_OUTLINE, dash="4 4")]
            if selected:
                overlays.append(maps.selection_layer(selected))
            st_folium(maps.fit_to_comuni(m, comuni, filters.comuni), key="mappa", height=600, use_container_width=True,
                      returned_objects=["last_object_clicked"], on_change=on_map_click,
                      feature_group_to_add=overlays or None)
        if evidence is not None:
            st.markdown(evidence.markdown())
    with right:
        details_panel(store, frame, filters, role, metric)


def main() -> None:
    require_page("view_map")  # the page's own check, besides the navigation
    store = get_store()
    st.title("Mappa integrata")
    demo_notice(store)
    filters = sidebar_filters(store)
    role = current_role()
    cleared = can_see_exact(role)
    role_caption(role)
    db, version = str(store.path), metrics.data_version(store)
    frame = metrics.protect_frame(load_frame(db, version, filters, cleared), role)  # what the role may see
    kpi_strip(load_kpis(db, version, filters, cleared), role)

    c1, c2, c3 = st.columns([2.2, 1.6, 2.2])
    metric = c1.selectbox("Indicatore sulla mappa", options=list(metrics.METRICS),
                          format_func=lambda m: metrics.METRICS[m].label, key="mappa_metrica")
    scheme = c2.selectbox("Classificazione", options=list(SCHEMES), format_func=SCHEMES.get, key="mappa_classi",
                          help="Quantili: classi con lo stesso numero di esagoni. Interruzioni naturali: classi "
                               "che raggruppano valori simili (Fisher-Jenks). Lo zero è sempre una classe a sé.")
    tiles = c3.radio("Sfondo", options=list(maps.TILES), format_func=maps.TILES.get, key="mappa_sfondo",
                     horizontal=True,
                     help="Le tessere OpenStreetMap richiedono internet; confini ed esagoni si vedono comunque.")
    layers = st.pills("Livelli di punti", options=list(maps.POINT_LAYERS), selection_mode="multi",
                      default=DEFAULT_LAYERS, format_func=lambda k: maps.POINT_LAYERS[k].short, key="mappa_livelli",
                      help="Punti sulla mappa; si possono nascondere anche dal riquadro dei livelli.")

    show_hot = st.toggle("Evidenzia i punti caldi (Gi*)", key="mappa_caldi",
                         help="Esagoni con più delitti del loro intorno oltre quanto il caso spiega: test di "
                              "permutazione sul massimo (Westfall-Young), con accanto quanti ne darebbero gli stessi "
                              "conteggi disposti a caso e la verifica sull'anno successivo.")
    evidence = load_evidence(db, version, filters) if show_hot else None
    points = {key: load_points(db, version, maps.POINT_LAYERS[key].table, filters.comuni) for key in layers}
    map_and_details(store, frame, filters, role, metric=metric, scheme=scheme, points=points, tiles=tiles,
                    comuni=load_comuni(db, version), report_text=reports.readable_comuni(current_user()),
                    evidence=evidence)

    shown = metrics.sort_for_role(frame[maps.drawable(frame)], metrics.METRICS[metric].column, role)
    st.subheader("Tabella dei dati della mappa")
    st.caption(
        f"{format_int(len(shown))} esagoni con residenti o dati, ordinati per «{metrics.METRICS[metric].label}». "
        + ("" if cleared else PROTECTED_NOTE + " ")
        + "Residenti stimati distribuendo i totali ISTAT dei comuni sulle località."
    )
    st.dataframe(metrics.styled_table(shown, role), hide_index=True, height=380, width="stretch")
    name = f"lanterna_esagoni_r{filters.res}"
    d1, d2, _ = st.columns([1, 1, 3])
    d1.download_button("Scarica CSV", data=anchored(lambda: metrics.table_csv(shown, role), "csv"),
                       file_name=f"{name}.csv",
                       mime="text/csv", icon=":material/download:")
    d2.download_button("Scarica GeoJSON", data=anchored(lambda: maps.cells_geojson(shown, role=role), "geojson"),
                       file_name=f"{name}.geojson", mime="application/geo+json", icon=":material/download:")


main()
