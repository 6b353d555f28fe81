"""Segnalazioni: a Comune officer flags degraded areas and follows them (pact artt. 4, 8). A view
over :mod:`geo.reports.workflow` and :mod:`geo.reports.report_views`; every write is checked in ``geo``."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.access.permissions import PermissionDenied, allows, import_action, scope
from geo.data.schemas import OPEN_REPORT_STATUS, REPORT_CATEGORIES, REPORT_SEVERITY, REPORT_STATUS
from geo.data.storage import open_store
from geo.maps import layers as maps
from geo.maps.layers import LEAFLET_APP_URL
from geo.reports import report_views as views
from geo.reports import workflow as reports
from pages.common import anchored, demo_notice, get_store, require_page

MAP_KEY = "seg_mappa"
FLASH = "seg_flash"
LOCATION_ICONS = {"warning": ":material/wrong_location:", "success": ":material/location_on:",
                  "error": ":material/block:"}


@st.cache_data(show_spinner=False, max_entries=8)
def load_comuni(db: str, built: str, codes: tuple[str, ...]) -> pd.DataFrame:
    del built  # cache key only
    frame = open_store(db).comuni_geometries()
    return frame[frame["pro_com_t"].isin(codes)] if codes else frame


def on_map_change() -> None:
    """st_folium callback (before the rerun): a click sets the point, a drawn polygon the area."""
    chosen = views.map_selection(st.session_state.get(MAP_KEY), st.session_state.get("seg_area"))
    if chosen:
        st.session_state.update(chosen)


def attempt(action, done: str | None) -> None:
    """Run a write: an Italian error when refused, otherwise a rerun that shows ``done``."""
    try:
        action()
    except (PermissionDenied, reports.ReportError) as exc:
        st.error(str(exc), icon=":material/error:")
        return
    if done:
        st.session_state[FLASH] = done
    st.rerun()


def new_report_form(store, user, names: dict[str, str]) -> None:
    """The map and the form of a new report."""
    if st.session_state.pop("seg_reset", False):
        st.session_state.update(views.RESET_FORM)
        st.session_state["seg_upload_n"] = st.session_state.get("seg_upload_n", 0) + 1
    st.subheader("Nuova segnalazione")
    own = reports.visible_comuni(user, "create_report") if allows(user, "create_report") else ()
    left, right = st.columns([3, 2], gap="medium")
    with left:
        c1, c2 = st.columns([2, 1])
        tiles = c1.radio("Sfondo", options=list(maps.TILES), format_func=maps.TILES.get, key="seg_sfondo",
                         horizontal=True, help="Le tessere OpenStreetMap richiedono internet.")
        draw = c2.toggle("Disegna un'area", key="seg_draw",
                         help="Strumenti per disegnare un poligono o un rettangolo (richiedono la connessione).")
        comuni = load_comuni(str(store.path), store.get_meta("built_at") or "", tuple(own or ()))
        state = st.session_state
        m, draft = views.new_report_map(store, user, own, comuni, tiles=tiles, draw=draw, assets_url=LEAFLET_APP_URL,
                                        selected_id=state.get("seg_sel"), lat=state.get("seg_lat"),
                                        lon=state.get("seg_lon"), area=state.get("seg_area"))
        st_folium(m, key=MAP_KEY, height=520, use_container_width=True, feature_group_to_add=draft,
                  returned_objects=["last_clicked", "last_active_drawing"], on_change=on_map_change)
        st.caption("Fare clic sulla mappa nel punto del degrado (oppure disegnare l'area). In arancione le "
                   "segnalazioni aperte.")
    with right:
        c1, c2 = st.columns(2)
        lat = c1.number_input("Latitudine", min_value=-90.0, max_value=90.0, value=None, format="%.6f",
                              key="seg_lat", placeholder="dalla mappa")
        lon = c2.number_input("Longitudine", min_value=-180.0, max_value=180.0, value=None, format="%.6f",
                              key="seg_lon", placeholder="dalla mappa")
        area = st.session_state.get("seg_area")
        if area:
            st.caption("Area disegnata: la segnalazione riguarda il poligono, il punto è al suo interno.")
            if st.button("Togli l'area", key="seg_area_clear"):
                st.session_state["seg_area"] = None
                st.rerun()
        located, kind, message = views.location_check(store, user, lat, lon, names)
        if kind:
            getattr(st, kind)(message, icon=LOCATION_ICONS[kind])
        category = st.selectbox("Categoria", options=list(REPORT_CATEGORIES), format_func=REPORT_CATEGORIES.get,
                                index=None, placeholder="Scegliere la categoria", key="seg_cat")
        severity = st.radio("Gravità", options=list(REPORT_SEVERITY), format_func=REPORT_SEVERITY.get, index=1,
                            horizontal=True, key="seg_sev")
        description = st.text_area("Descrizione", max_chars=reports.DESCRIPTION_MAX, key="seg_desc",
                                   placeholder="Che cosa si vede, da quando, a chi crea problemi…")
        uploads = st.file_uploader(views.PHOTOS_LABEL, type=["jpg", "jpeg", "png"], accept_multiple_files=True,
                                   key=f"seg_photos_{st.session_state.get('seg_upload_n', 0)}")
        duplicates = (reports.likely_duplicates(store, lat=lat, lon=lon, category=category) if located and category
                      else pd.DataFrame())
        confirm = False
        if len(duplicates):
            st.warning(str(reports.DuplicateSuspected(duplicates)), icon=":material/content_copy:")
            st.dataframe(views.duplicates_table(duplicates), hide_index=True, key="seg_dups")
            confirm = st.checkbox("Ho controllato: non è un doppione, salvare comunque", key="seg_dup_ok")
        ready = located is not None and category is not None and bool((description or "").strip())
        if st.button("Invia la segnalazione", type="primary", disabled=not ready, key="seg_send",
                     icon=":material/send:"):
            def send() -> None:
                report_id = reports.create_report(
                    store, user, lat=lat, lon=lon, area=area, category=category, severity=severity,
                    description=description, photos=[(f.name, f.getvalue()) for f in uploads or []],
                    confirm_duplicates=confirm)
                st.session_state.update({FLASH: f"Segnalazione {report_id} inviata.", "seg_sel": report_id,
                                         "seg_reset": True})

            attempt(send, None)
        if not ready:
            st.caption("Per inviare: punto sulla mappa nel territorio del Comune, categoria e descrizione.")


def report_details(store, user, report_id: str) -> None:
    """One report: its data, photos, history and the controls the role allows."""
    try:
        row = reports.get_report(store, user, report_id)
    except (PermissionDenied, reports.ReportError) as exc:
        st.error(str(exc), icon=":material/lock:")
        return
    facts = views.facts_table(row, reports.comune_names(store))
    left, right = st.columns([1.2, 1], gap="medium")
    with left:
        st.dataframe(facts, hide_index=True, width="stretch", key="seg_facts")
        st.markdown("**Descrizione**")
        st.text(row["description"] or "")
        for photo in reports.photos(store, user, report_id):
            st.image(photo["data"], caption=photo["file_name"], width=320)
        events = reports.history(store, user, report_id)
        if len(events):
            st.markdown("**Cronologia**")
            st.dataframe(reports.history_table(events), hide_index=True, width="stretch", key="seg_history")
    with right:
        actions_panel(store, user, row)


def actions_panel(store, user, row: dict) -> None:
    acts = reports.actions_for(user, row)
    rid = row["report_id"]
    if not acts.any:
        st.info("Nessuna azione disponibile per il Suo profilo su questa segnalazione.", icon=":material/visibility:")
        return
    if acts.transitions:
        st.markdown("**Avanzamento**")
        target = st.selectbox("Nuovo stato", options=list(acts.transitions), format_func=REPORT_STATUS.get,
                              key=f"seg_to_{rid}")
        note = st.text_area("Commento (obbligatorio per «Respinta»: il motivo)", key=f"seg_note_{rid}",
                            max_chars=reports.COMMENT_MAX)
        if st.button("Aggiorna lo stato", type="primary", key="seg_apply", icon=":material/arrow_forward:"):
            attempt(lambda: reports.change_status(store, user, rid, target, comment=note),
                    f"Segnalazione {rid}: stato «{REPORT_STATUS[target]}».")
    if acts.comment:
        st.markdown("**Commento**")
        text = st.text_area("Testo del commento", key=f"seg_comment_{rid}", max_chars=reports.COMMENT_MAX)
        if st.button("Aggiungi il commento", key="seg_comment_go", icon=":material/comment:"):
            attempt(lambda: reports.add_comment(store, user, rid, text), f"Commento aggiunto alla segnalazione {rid}.")
    if acts.edit:
        with st.expander("Correggi la segnalazione o aggiungi foto"):
            category = st.selectbox("Categoria", options=list(REPORT_CATEGORIES), format_func=REPORT_CATEGORIES.get,
                                    index=list(REPORT_CATEGORIES).index(row["category"]), key=f"seg_ecat_{rid}")
            severity = st.radio("Gravità", options=list(REPORT_SEVERITY), format_func=REPORT_SEVERITY.get,
                                index=list(REPORT_SEVERITY).index(row["severity"] or 2), horizontal=True,
                                key=f"seg_esev_{rid}")
            description = st.text_area("Descrizione", value=row["description"] or "", key=f"seg_edesc_{rid}",
                                       max_chars=reports.DESCRIPTION_MAX)
            if st.button("Salva le correzioni", key="seg_edit_go"):
                attempt(lambda: reports.edit_report(store, user, rid, category=category, severity=severity,
                                                    description=description), f"Segnalazione {rid} corretta.")
            more = st.file_uploader("Altre foto (JPEG o PNG)", type=["jpg", "jpeg", "png"],
                                    accept_multiple_files=True, key=f"seg_more_{rid}")
            if st.button("Aggiungi le foto", key="seg_photo_go", disabled=not more):
                attempt(lambda: reports.add_photos(store, user, rid, [(f.name, f.getvalue()) for f in more or []]),
                        f"Foto aggiunte alla segnalazione {rid}.")


def reports_list(store, user, names: dict[str, str]) -> None:
    """The reports the role may see, filterable, with the one chosen for details."""
    st.subheader("Segnalazioni del mio Comune" if scope(user.role, "view_reports") != "tutti" else "Segnalazioni")
    c1, c2 = st.columns([2, 2])
    statuses = c1.multiselect("Stato", options=list(REPORT_STATUS), format_func=REPORT_STATUS.get,
                              default=[s for s in REPORT_STATUS if s in OPEN_REPORT_STATUS], key="seg_stati",
                              placeholder="Tutti gli stati")
    chosen = c2.multiselect("Comuni", options=views.comune_options(user, names), format_func=lambda c: names.get(c, c),
                            key="seg_comuni", placeholder="Tutti" if reports.visible_comuni(user) is None
                            else "Tutti i propri")
    frame = reports.visible_reports(store, user, statuses=statuses or None, comuni=chosen or None)
    st.caption(f"{len(frame)} segnalazioni. Le descrizioni sono mostrate come testo.")
    st.dataframe(reports.table(frame.head(1000)), hide_index=True, height=320, width="stretch", key="seg_table",
                 column_config={"Aperta il": st.column_config.DateColumn(format="DD/MM/YYYY"),
                                "Chiusa il": st.column_config.DateColumn(format="DD/MM/YYYY")})
    st.download_button("Scarica CSV", data=anchored(reports.reports_csv(frame), "csv"), file_name="segnalazioni.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore", key="seg_csv")
    wanted = st.query_params.get("segnalazione")  # a link to one report (e.g. from the agenda)
    frame, refused = views.with_wanted(store, user, frame, wanted)
    if refused:
        st.error(refused, icon=":material/lock:")
    ids = frame["report_id"].tolist()
    chosen_id = views.selected_report(ids, wanted, st.session_state.get("seg_sel"))
    if chosen_id != st.session_state.get("seg_sel"):
        st.session_state["seg_sel"] = chosen_id
    labels = views.report_labels(frame)
    report_id = st.selectbox("Segnalazione da vedere o gestire", options=ids, format_func=labels.get,
                             index=None, key="seg_sel", placeholder="Scegliere una segnalazione")
    if report_id:
        report_details(store, user, report_id)


def import_block(store, user, names: dict[str, str]) -> None:
    """Bulk import of a Comune's reports from a Municipium-style CSV."""
    if not allows(user, import_action("reports")):
        return
    with st.expander("Importa segnalazioni da un CSV (formato Municipium)"):
        st.caption(views.MUNICIPIUM_HELP)
        code = st.selectbox("Comune del file", options=views.comune_options(user, names, import_action("reports")),
                            format_func=lambda c: names.get(c, c), key="seg_imp_comune")
        partial = st.checkbox("Importa solo le righe valide", key="seg_imp_partial")
        upload = st.file_uploader("File CSV", type=["csv"], key="seg_imp_file")
        if st.button("Importa", disabled=upload is None, key="seg_imp_go"):
            ok, text, report, icon = views.municipium_import(store, user, upload.getvalue(), pro_com_t=code,
                                                             partial=partial, file_name=upload.name)
            if ok:
                st.session_state[FLASH] = text
                st.rerun()
            st.error(text, icon=icon)
            if report is not None and len(report):
                st.dataframe(report, hide_index=True, key="seg_imp_report")


def main() -> None:
    user = require_page("view_reports")
    store = get_store()
    st.title("Segnalazioni di degrado")
    demo_notice(store)
    if message := st.session_state.pop(FLASH, None):
        st.success(message, icon=":material/check_circle:")
    names = reports.comune_names(store)
    if allows(user, "create_report"):
        new_report_form(store, user, names)
    reports_list(store, user, names)
    import_block(store, user, names)


main()
