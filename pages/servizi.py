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

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo import config
from geo.access.privacy import format_decimal, format_int, format_percent
from geo.data import hexgrid
from geo.data.schemas import SERVICE_TYPES
from geo.data.storage import open_store
from geo.overview import metrics
from geo.services import homeless as hl
from geo.services.opening_hours import DAY_LABELS, MONTH_LABELS
from pages.common import (
    anchored,
    current_role,
    current_user,
    demo_notice,
    get_store,
    month_label,
    pact_label,
    require_page,
    role_caption,
    sidebar_filters,
)

LEAFLET_URL = "../../app/static/vendor/leaflet"
#: Session key of the ISTAT codes the current user is bound to (role ``comune``).
USER_COMUNI_KEY = "user_comuni"
#: More settled hexagons than this and the map uses resolution 9.
MAX_RES10_CELLS = 6000
TYPE_OPTIONS = [hl.ANY, *SERVICE_TYPES]


def type_label(key: str) -> str:
    return "Tutti i servizi" if key == hl.ANY else SERVICE_TYPES[key]


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


def services_map(store, filters, role, user_comuni, service_type, near_gaps, tiles) -> None:
    db, version = str(store.path), metrics.data_version(store)
    services = store.points("services")
    visible = hl.visible_services(services, role, user_comuni)
    coverage = load_coverage(db, version, hl.services_version(services), role, user_comuni)
    cells = coverage if not filters.comuni else coverage[coverage["pro_com_t"].isin(filters.comuni)]
    res = config.STORE_RES if filters.comuni and len(cells) <= MAX_RES10_CELLS else hl.GAP_RES
    frame = hl.map_cells(cells, service_type=service_type, res=res)
    _, comuni_geo, _, _ = load_static(db, version)
    frame["comune"] = frame["pro_com_t"].map(dict(zip(comuni_geo["pro_com_t"], comuni_geo["nome"], strict=True)))
    shown_services = visible if not filters.comuni else visible[visible["pro_com_t"].isin(filters.comuni)]
    shown_services = shown_services if service_type == hl.ANY else shown_services[
        [service_type in list(t) for t in shown_services["types"]]]
    m = hl.coverage_map(frame, service_type=service_type, services=shown_services, gaps=near_gaps, role=role,
                        comuni=comuni_geo, tiles=tiles, assets_url=LEAFLET_URL)
    st_folium(m, key="servizi_mappa", height=560, use_container_width=True, returned_objects=[])
    st.caption(
        f"Esagoni abitati (risoluzione {res}{', media pesata sui residenti' if res != config.STORE_RES else ''}) "
        "colorati per distanza a piedi dal servizio più vicino del tipo scelto, di qualsiasi comune. "
        + ("" if len(visible) == len(services) else
           f"{len(services) - len(visible)} servizi con indirizzo riservato non sono mostrati né usati per le "
           "distanze: la loro posizione si potrebbe ricostruire dalle distanze.")
    )


def _user_name() -> str | None:
    """The logged-in user's name, recorded with every change (audit log, census log)."""
    user = current_user()
    return user.username if user else None


def census_forms(store, role: str, user_comuni: tuple[str, ...], services: pd.DataFrame, comuni: pd.DataFrame
                 ) -> None:
    """Add / edit / close forms, shown only to roles that manage some comune; every submit goes
    through :mod:`geo.services.homeless`, which checks the role again."""
    allowed = hl.manageable_comuni(role, user_comuni, comuni["pro_com_t"])
    if not allowed:
        st.caption("Il censimento è aggiornato dalla Prefettura e dai Comuni per il proprio territorio.")
        return
    names = dict(zip(comuni["pro_com_t"], comuni["nome"], strict=True))
    st.subheader("Aggiornare il censimento")
    managed = "tutti" if len(allowed) == len(names) else ", ".join(names.get(c, c) for c in allowed)
    st.caption(f"Comuni gestiti da questo profilo: {managed}. "
               "Orari nella sintassi OpenStreetMap «opening_hours»: es. «Mo-Fr 09:00-12:00», "
               "«Mo-Su 19:30-08:00» (oltre la mezzanotte), «Tu,Th 09:00-12:00, Sa 09:00-11:00», «24/7»; "
               "«;» separa regole che sostituiscono le precedenti per gli stessi giorni, «,» le aggiunge.")
    message = st.session_state.pop("servizi_esito", None)
    if message:
        st.success(message)
    own = services[services["pro_com_t"].isin(allowed)]
    tab_add, tab_edit, tab_close, tab_log = st.tabs(
        [":material/add: Aggiungi", ":material/edit: Modifica", ":material/block: Chiudi",
         ":material/receipt_long: Registro"])
    with tab_add:
        lat0, lon0 = _centre(store, allowed[0])
        with st.form("servizi_aggiungi"):
            record = _service_fields("add", {"lat": lat0, "lon": lon0, "public": True})
            submitted = st.form_submit_button("Aggiungi il servizio", type="primary", key="servizi_aggiungi_ok")
        if submitted:
            _submit(lambda: hl.add_service(store, record, role=role, user_comuni=user_comuni, user_name=_user_name()),
                    lambda sid: f"Servizio {sid} aggiunto al censimento.")
    with tab_edit:
        if own.empty:
            st.info("Nessun servizio censito nei comuni gestiti.")
        else:
            sid = st.selectbox("Servizio da modificare", options=list(own["service_id"]), key="servizi_modifica_id",
                               format_func=lambda s: f"{s} · {own.loc[own['service_id'] == s, 'name'].iloc[0]}")
            current = own[own["service_id"] == sid].iloc[0].to_dict()
            with st.form(f"servizi_modifica_{sid}"):
                record = _service_fields(f"edit_{sid}", current)
                submitted = st.form_submit_button("Salva le modifiche", type="primary",
                                                  key=f"servizi_modifica_ok_{sid}")
            if submitted:
                _submit(lambda: hl.edit_service(store, sid, record, role=role, user_comuni=user_comuni,
                                                user_name=_user_name()),
                        lambda _row: f"Servizio {sid} modificato.")
    with tab_close:
        if own.empty:
            st.info("Nessun servizio censito nei comuni gestiti.")
        else:
            with st.form("servizi_chiudi"):
                sid = st.selectbox("Servizio da chiudere", options=list(own["service_id"]), key="servizi_chiudi_id",
                                   format_func=lambda s: f"{s} · {own.loc[own['service_id'] == s, 'name'].iloc[0]}")
                reason = st.text_input("Motivo della chiusura", max_chars=500, key="servizi_chiudi_motivo")
                confirm = st.checkbox("Confermo: il servizio esce dal censimento (resta nel registro delle modifiche)",
                                      key="servizi_chiudi_conferma")
                submitted = st.form_submit_button("Chiudi il servizio", key="servizi_chiudi_ok")
            if submitted:
                if not confirm:
                    st.error("Confermare la chiusura.")
                else:
                    _submit(lambda: hl.close_service(store, sid, role=role, user_comuni=user_comuni, reason=reason,
                                                     user_name=_user_name()),
                            lambda _none: f"Servizio {sid} chiuso.")
    with tab_log:
        log = store.service_changes(pro_com_t=None if role == "prefettura" else allowed)
        if log.empty:
            st.caption("Nessuna modifica registrata.")
        else:
            st.dataframe(log[["changed_at", "service_id", "action", "role", "user_name", "reason"]].rename(columns={
                "changed_at": "Quando", "service_id": "Servizio", "action": "Azione", "role": "Profilo",
                "user_name": "Utente", "reason": "Motivo"}), hide_index=True, width="stretch")


def _centre(store, code: str) -> tuple[float, float]:
    """A default position for a new service: the comune's most populated hexagon."""
    ctx = store.cell_context(config.STORE_RES, comuni=[code])
    if ctx.empty:  # a comune without cells: a point inside its boundary
        import shapely

        geoms = store.comuni_geometries()
        wkb = geoms.loc[geoms["pro_com_t"] == code, "geometry_wkb"]
        pt = shapely.from_wkb(bytes(wkb.iloc[0])).representative_point() if len(wkb) else shapely.Point(12.5, 42.5)
        return round(pt.y, 6), round(pt.x, 6)
    lat, lon = hexgrid.cell_centers(np.asarray([ctx.sort_values("residents").iloc[-1]["cell"]], dtype=np.int64))
    return round(float(lat[0]), 6), round(float(lon[0]), 6)


def _service_fields(prefix: str, current: dict) -> dict:
    """The fields of a service record inside a form, pre-filled from ``current``."""
    c1, c2 = st.columns(2)
    name = c1.text_input("Nome", value=current.get("name") or "", max_chars=200, key=f"{prefix}_nome")
    operator = c2.text_input("Gestore", value=current.get("operator") or "", max_chars=200, key=f"{prefix}_gestore")
    types_now = [str(t) for t in (current.get("types") if current.get("types") is not None else [])]
    types = st.multiselect("Tipi di servizio (art. 14)", options=list(SERVICE_TYPES), default=types_now,
                           format_func=SERVICE_TYPES.get, key=f"{prefix}_tipi",
                           placeholder="Scegliere uno o più tipi")
    c3, c4, c5 = st.columns([3, 1.2, 1.2])
    hours = c3.text_input("Orari (OpenStreetMap opening_hours)", value=current.get("hours") or "", max_chars=300,
                          key=f"{prefix}_orari", placeholder="Mo-Fr 09:00-12:00")
    capacity_now = current.get("capacity")
    capacity = c4.number_input("Posti", min_value=0, max_value=10_000, step=1, key=f"{prefix}_posti",
                               value=None if capacity_now is None or pd.isna(capacity_now) else int(capacity_now))
    open_24h = c5.checkbox("Aperto 24 ore", value=current.get("open_24h") is True, key=f"{prefix}_24h")
    c6, c7, c8 = st.columns([1.5, 1.5, 2])
    lat = c6.number_input("Latitudine (WGS84)", value=float(current.get("lat")), format="%.6f", step=0.0005,
                          key=f"{prefix}_lat")
    lon = c7.number_input("Longitudine (WGS84)", value=float(current.get("lon")), format="%.6f", step=0.0005,
                          key=f"{prefix}_lon")
    public = c8.checkbox("Indirizzo pubblico (visibile a tutti i profili)", value=current.get("public") is not False,
                         key=f"{prefix}_pubblico",
                         help="Togliere per i dormitori e le strutture protette: li vedranno solo Prefettura, "
                              "Forze di polizia e il Comune.")
    return {"name": name, "operator": operator, "types": types, "hours": hours, "open_24h": open_24h,
            "capacity": capacity, "public": public, "lat": lat, "lon": lon}


def _submit(action, success) -> None:
    try:
        result = action()
    except hl.ServiceValidationError as exc:
        st.error("Servizio non salvato:\n" + "\n".join(f"- {e}" for e in exc.errors))
    except hl.ServicePermissionError as exc:
        st.error(str(exc))
    except KeyError as exc:
        st.error(str(exc.args[0]) if exc.args else "Servizio non trovato.")
    else:
        st.session_state["servizi_esito"] = success(result)
        st.rerun()


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
    service_type = c2.selectbox("Tipo di servizio", options=TYPE_OPTIONS, format_func=type_label, key="servizi_tipo")
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

    any_row = summary[summary["type"] == hl.ANY].iloc[0]
    covered_types = sum(1 for t in SERVICE_TYPES if any(t in list(v) for v in in_area["types"]))
    residents = per_comune["residents"].sum()
    near_share = (per_comune["share_near"] * per_comune["residents"]).sum() / residents if residents else None
    k1, k2, k3, k4, k5 = st.columns(5)
    hidden = len(in_area) - len(visible_in_area)
    k1.metric("Servizi censiti", format_int(len(in_area)), border=True,
              help=f"Di cui {hidden} con indirizzo riservato, non visibili a questo profilo." if hidden else None)
    k2.metric("Tipi dell'art. 14 presenti", f"{covered_types} su 9", border=True)
    k3.metric("Ore settimanali senza alcun servizio aperto", format_decimal(any_row["hours_without"], 1),
              border=True, help=f"Settimana tipo di {MONTH_LABELS[month - 1]}; l'art. 14 chiede l'apertura 24 ore.")
    k4.metric(f"Residenti entro {format_int(near_m)} m da un servizio", format_percent(near_share), border=True,
              help="Distanza a piedi stimata (linea d'aria × 1,3) verso i servizi visibili a questo profilo.")
    k5.metric("Aree prioritarie", format_int(len(area_gaps.areas)), border=True,
              help=f"Di cui nel capoluogo: {int(area_gaps.areas['capoluogo'].sum())}.")

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
        st.dataframe(italian(table), hide_index=True, width="stretch")
        st.altair_chart(coverage_chart(per_comune, near_m), width="stretch")
        detail = _type_detail(per_comune, near_m)
        with st.expander("Dettaglio per tipo di servizio"):
            st.dataframe(italian(detail), hide_index=True, width="stretch")
        d1, d2, _ = st.columns([1, 1.2, 3])
        d1.download_button("Scarica CSV", data=anchored(hl.table_csv(table), "csv"),
                           file_name="lanterna_servizi_copertura.csv",
                           mime="text/csv", icon=":material/download:", key="servizi_cov_csv")
        d2.download_button("Scarica CSV per tipo", data=anchored(hl.table_csv(detail), "csv"),
                           file_name="lanterna_servizi_copertura_per_tipo.csv", mime="text/csv",
                           icon=":material/download:", key="servizi_tipo_csv")
    with tab_hours:
        data = hl.hours_chart_data(in_area, month=month, service_type=service_type)
        empty = int(data["no_service"].sum())
        st.altair_chart(hours_chart(data, f"{type_label(service_type)}: servizi aperti per ora e giorno "
                                          f"({MONTH_LABELS[month - 1]})"), width="stretch")
        st.caption((f"In rosso le {empty} ore della settimana senza alcun servizio di questo tipo aperto (nemmeno "
                    "per un minuto). " if empty else "Nessuna ora della settimana senza almeno un servizio aperto. ")
                   + "Numero: servizi aperti in qualche minuto dell'ora. Servizi dei comuni scelti, compresi quelli "
                     "con indirizzo riservato (gli orari non ne rivelano la posizione).")
        hours_table = pd.DataFrame({
            "Tipo di servizio": summary["label"], "Servizi con orario": summary["services"],
            "Ore aperte a settimana": summary["hours_open"].round(1),
            "Ore senza servizio": summary["hours_without"].round(1), "Fasce orarie scoperte": summary["empty_slots"],
            "Interruzione più lunga (ore)": summary["longest_gap_h"].round(1),
            "Notti coperte (22-6)": summary["nights_covered"],
            "Aperto 24 ore su 24": ["sì" if v else "no" for v in summary["always_open"]],
        })
        st.dataframe(italian(hours_table), hide_index=True, width="stretch")
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
        st.caption(
            f"Esagoni di risoluzione 9 (≈ 0,1 km²) con almeno {hl.MIN_SIGNALS} segnali di marginalità nel periodo "
            f"{period} (segnalazioni di bivacco, occupazione abusiva, spaccio o assembramenti non respinte; delitti "
            f"in materia di stupefacenti) e oltre {format_int(far_m)} m a piedi dal servizio visibile più vicino; "
            "esagoni contigui formano un'area. Prima le aree del capoluogo (art. 14), poi per numero di segnali. "
            "Per i profili senza abilitazione i delitti sono conteggi protetti con il metodo della chiave di cella; "
            "da 1 a 2 segnalazioni sono indicate «< 3» e il totale dei segnali come intervallo («da 6 a 7»)."
        )
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
        st.markdown(METHOD)


def italian(table: pd.DataFrame):
    """A Styler showing numbers with Italian separators (numbers stay numbers for sorting)."""
    formats = {}
    for col in table.columns:
        if pd.api.types.is_float_dtype(table[col]):
            formats[col] = lambda v: format_decimal(v, 0 if float(v).is_integer() else 1)
        elif pd.api.types.is_integer_dtype(table[col]):
            formats[col] = format_int
    return table.style.format(formats, na_rep="–").hide(axis="index")


def _type_detail(per_comune: pd.DataFrame, near_m: float) -> pd.DataFrame:
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
segnali di marginalità da 1 a 2 sono mascherati per i profili senza abilitazione.

Dettagli e fonti: `docs/SCUOLE_SERVIZI.md`.
"""

main()
