"""Servizi senza dimora (pact art. 14): the census of services, their coverage, the hours without
any open service, the areas with signs of marginality far from every service, and the census
forms for the roles that maintain it.

A thin view on :mod:`geo.services.homeless`. Who sees a non-public service and who may change the census is
decided there (:func:`geo.services.homeless.can_see_service`, :func:`geo.services.homeless.can_manage_services`),
and every write checks the role again on the server side. The ISTAT codes a Comune user is bound
to are read from ``st.session_state["user_comuni"]`` (set by the login, issue 6).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo import config
from geo.data.storage import open_store
from geo.maps.layers import LEAFLET_APP_URL, fit_to_comuni
from geo.overview import metrics
from geo.services import homeless as hl
from geo.services import homeless_views as hv
from geo.services.opening_hours import MONTH_LABELS
from pages.common import (
    anchored,
    current_role,
    demo_notice,
    get_store,
    month_label,
    pact_label,
    require_page,
    role_caption,
    sidebar_filters,
)
from pages.servizi_census import census_forms

#: Session key of the ISTAT codes the current user is bound to (role ``comune``).
USER_COMUNI_KEY = "user_comuni"


@st.cache_data(show_spinner=False, max_entries=4)
def load_static(db: str, version: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Series]:
    """Settled hexagons, comuni boundaries, localities and the comune of each resolution-9 hexagon."""
    del version
    store = open_store(db)
    cells = hl.settled_cells(store.cell_context(config.STORE_RES))
    ctx9 = store.cell_context(hl.GAP_RES)
    return cells, store.comuni_geometries(), store.points("localities"), ctx9.set_index("cell")["pro_com_t"]


@st.cache_data(show_spinner="Calcolo delle distanze dai servizi…", max_entries=24)
def load_coverage(db: str, version: str, services_version: str, role: str, user_comuni: tuple[str, ...]
                  ) -> pd.DataFrame:
    """Walking distances from every settled hexagon to the services this viewer may see."""
    del services_version
    cells, _, _, _ = load_static(db, version)
    services = hl.visible_services(open_store(db).points("services"), role, user_comuni)
    return hl.coverage_distances(cells, services)


@st.cache_data(show_spinner="Ricerca delle aree prioritarie…", max_entries=24)
def load_gaps(db: str, version: str, services_version: str, role: str, user_comuni: tuple[str, ...],
              start: date | None, end: date | None, far_m: float) -> hl.Gaps:
    del services_version
    store = open_store(db)
    _, _, localities, cell_comune = load_static(db, version)
    incidents = hl.marginality_incidents(store, start=start, end=end, role=role)
    end_day = None if end is None else (pd.Timestamp(end) + pd.offsets.MonthEnd(0)).date()
    signals = hl.marginality_signals(store.points("reports"), incidents, start=start, end=end_day)
    services = hl.visible_services(store.points("services"), role, user_comuni)
    comuni = store.comuni()
    return hl.gap_areas(signals, services, comuni=comuni, localities=localities, cell_comune=cell_comune,
                        far_m=far_m, capoluogo=hl.capoluogo_code(localities, comuni))


def services_map(store, filters, role, user_comuni, service_type, near_gaps, tiles) -> None:
    db, version = str(store.path), metrics.data_version(store)
    services = store.points("services")
    visible = hl.visible_services(services, role, user_comuni)
    coverage = load_coverage(db, version, hl.services_version(services), role, user_comuni)
    _, comuni_geo, _, _ = load_static(db, version)
    m, res = hv.coverage_map(coverage, visible, comuni_geo, comuni=tuple(filters.comuni), service_type=service_type,
                             gaps=near_gaps, role=role, tiles=tiles, assets_url=LEAFLET_APP_URL)
    st_folium(fit_to_comuni(m, comuni_geo, filters.comuni), key="servizi_mappa", height=560,
              use_container_width=True, returned_objects=[])
    st.caption(hv.map_caption(res, len(services) - len(visible)))


def main() -> None:
    require_page("view_services")  # the page's own check, besides the navigation
    store = get_store()
    st.title("Servizi per persone senza dimora")
    st.caption(
        f"{pact_label('senza_dimora')}: censimento dei servizi (pasti in strada, mensa, accoglienza notturna, docce, "
        "guardaroba, ascolto, assistenza legale, psicologica e sanitaria), apertura nelle 24 ore, aree prioritarie nel "
        "capoluogo. Nessuna mappa mostra persone: i segnali di marginalità sono solo totali per area."
    )
    demo_notice(store)
    filters = sidebar_filters(store)
    role = current_role()
    user_comuni = tuple(st.session_state.get(USER_COMUNI_KEY) or ())
    role_caption(role)
    db, version = str(store.path), metrics.data_version(store)
    services = store.points("services")
    comuni = store.comuni()
    visible = hl.visible_services(services, role, user_comuni)
    chosen = list(filters.comuni) or list(comuni["pro_com_t"])
    in_area = services[services["pro_com_t"].isin(chosen)]
    visible_in_area = visible[visible["pro_com_t"].isin(chosen)]

    c1, c2, c3, c4 = st.columns([1.6, 2.4, 2, 2])
    month = c1.selectbox("Mese per gli orari", options=list(range(1, 13)), index=date.today().month - 1,
                         format_func=lambda m: MONTH_LABELS[m - 1], key="servizi_mese",
                         help="Alcuni servizi sono stagionali (per esempio l'emergenza freddo da dicembre a marzo).")
    service_type = c2.selectbox("Tipo di servizio", options=hv.TYPE_OPTIONS, format_func=hv.type_label,
                                key="servizi_tipo")
    near_m = c3.slider("«Vicino» entro (m a piedi)", min_value=300, max_value=3000, step=100, value=int(hl.NEAR_M),
                       key="servizi_vicino")
    far_m = c4.slider("Area prioritaria oltre (m a piedi)", min_value=500, max_value=5000, step=100,
                      value=int(hl.FAR_M), key="servizi_lontano",
                      help="Aree con segnali di marginalità più lontane di così da ogni servizio visibile.")

    summary = hl.hours_summary(in_area, month=month)
    coverage = load_coverage(db, version, hl.services_version(services), role, user_comuni)
    by_comune = hl.services_by_comune(services, comuni, month=month)
    per_comune = hl.coverage_by_comune(coverage, by_comune, near_m=near_m)
    per_comune = per_comune[per_comune["pro_com_t"].isin(chosen)]
    gaps = load_gaps(db, version, hl.services_version(services), role, user_comuni, filters.start, filters.end,
                     float(far_m))
    area_gaps = hl.Gaps(gaps.cells, gaps.areas[gaps.areas["pro_com_t"].isin(chosen)].reset_index(drop=True),
                        gaps.far_m, gaps.min_signals)

    hidden = len(in_area) - len(visible_in_area)
    kpis = hv.kpis(in_area, visible_in_area, summary, per_comune, area_gaps, month=month, near_m=near_m)
    for col, kpi in zip(st.columns(len(kpis)), kpis, strict=True):
        col.metric(kpi["label"], kpi["value"], help=kpi["help"], border=True)

    tab_map, tab_cov, tab_hours, tab_gaps, tab_census, tab_method = st.tabs(
        [":material/map: Mappa e copertura", ":material/account_balance: Copertura per comune",
         ":material/schedule: Orari", ":material/location_on: Aree prioritarie", ":material/list: Censimento",
         ":material/functions: Metodo"])
    with tab_map:
        tiles = st.radio("Sfondo", options=["osm", "none"], format_func={"osm": "OpenStreetMap",
                                                                          "none": "Nessuno"}.get,
                         key="servizi_sfondo", horizontal=True)
        services_map(store, filters, role, user_comuni, service_type, area_gaps, tiles)
    with tab_cov:
        table = hl.coverage_table(per_comune, near_m=near_m)
        st.caption("Tipi presenti e mancanti: tutti i servizi censiti nel comune (l'esistenza non rivela la "
                   "posizione). Residenti vicini e distanza mediana: dagli esagoni abitati ai servizi visibili a "
                   "questo profilo, di qualsiasi comune.")
        st.dataframe(hv.italian(table), hide_index=True, width="stretch")
        st.altair_chart(hv.coverage_chart(per_comune, near_m), width="stretch")
        detail = hv.type_detail(per_comune, near_m)
        with st.expander("Dettaglio per tipo di servizio"):
            st.dataframe(hv.italian(detail), hide_index=True, width="stretch")
        d1, d2, _ = st.columns([1, 1.2, 3])
        d1.download_button("Scarica CSV", data=anchored(hl.table_csv(table), "csv"),
                           file_name="lanterna_servizi_copertura.csv",
                           mime="text/csv", icon=":material/download:", key="servizi_cov_csv")
        d2.download_button("Scarica CSV per tipo", data=anchored(hl.table_csv(detail), "csv"),
                           file_name="lanterna_servizi_copertura_per_tipo.csv", mime="text/csv",
                           icon=":material/download:", key="servizi_tipo_csv")
    with tab_hours:
        data = hl.hours_chart_data(in_area, month=month, service_type=service_type)
        st.altair_chart(hv.hours_chart(data, f"{hv.type_label(service_type)}: servizi aperti per ora e giorno "
                                             f"({MONTH_LABELS[month - 1]})"), width="stretch")
        st.caption(hv.hours_caption(data))
        hours_table = hv.hours_table(summary)
        st.dataframe(hv.italian(hours_table), hide_index=True, width="stretch")
        st.download_button("Scarica CSV", data=anchored(hl.table_csv(hours_table), "csv"),
                           file_name="lanterna_servizi_orari.csv",
                           mime="text/csv", icon=":material/download:", key="servizi_orari_csv")
        _, notes = hl.service_minutes(in_area[in_area["service_id"].isin(visible["service_id"])], month=month)
        if len(notes):
            with st.expander(f"Note sugli orari ({len(notes)})"):
                st.dataframe(notes.rename(columns={"service_id": "Codice", "name": "Servizio", "note": "Nota"}),
                             hide_index=True, width="stretch")
    with tab_gaps:
        period = (f"{month_label(filters.start)} – {month_label(filters.end)}" if filters.start and filters.end
                  else "tutto il periodo")
        st.caption(hv.gaps_caption(period, far_m))
        gap_table, _ = hl.gap_display(area_gaps, role)
        if gap_table.empty:
            st.info("Nessuna area con segnali di marginalità lontana dai servizi.")
        else:
            st.dataframe(gap_table, hide_index=True, width="stretch")
            d1, d2, _ = st.columns([1, 1, 3])
            d1.download_button("Scarica CSV", data=anchored(hl.table_csv(gap_table), "csv"),
                               file_name="lanterna_aree_prioritarie.csv",
                               mime="text/csv", icon=":material/download:", key="servizi_aree_csv")
            d2.download_button("Scarica GeoJSON", data=anchored(hl.gaps_geojson(area_gaps, role), "geojson"),
                               file_name="lanterna_aree_prioritarie.geojson", mime="application/geo+json",
                               icon=":material/download:", key="servizi_aree_geojson")
    with tab_census:
        census = hl.census_table(visible_in_area, comuni, hl.service_minutes(visible_in_area, month=month)[1])
        st.caption(f"{len(census)} servizi visibili a questo profilo"
                   + (f" ({hidden} con indirizzo riservato non mostrati)." if hidden else "."))
        st.dataframe(census, hide_index=True, width="stretch")
        d1, d2, _ = st.columns([1, 1, 3])
        d1.download_button("Scarica CSV", data=anchored(hl.table_csv(census), "csv"),
                           file_name="lanterna_servizi_censimento.csv",
                           mime="text/csv", icon=":material/download:", key="servizi_censimento_csv")
        d2.download_button("Scarica GeoJSON", data=anchored(hl.services_geojson(visible_in_area, comuni), "geojson"),
                           file_name="lanterna_servizi.geojson", mime="application/geo+json",
                           icon=":material/download:", key="servizi_censimento_geojson")
        census_forms(store, role, user_comuni, visible, comuni)
    with tab_method:
        st.markdown(hv.METHOD)


main()
