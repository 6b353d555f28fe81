"""Segnalazioni: a Comune officer flags degraded areas and follows them (pact artt. 4, 8).

A thin view over :mod:`geo.reports.workflow`: the officer clicks the map (or draws an area, or types the
coordinates), fills category, severity, description and photos, sees likely duplicates before
saving, and manages the reports of its comune (status changes, comments, corrections). Only the
controls the role allows are shown, and every write is checked again in ``geo``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.access.permissions import PermissionDenied, allows, import_action, scope
from geo.data.io import ImportFailed
from geo.data.schemas import OPEN_REPORT_STATUS, REPORT_CATEGORIES, REPORT_SEVERITY, REPORT_STATUS
from geo.data.storage import open_store
from geo.data.territory import TerritoryError, territory_of_store
from geo.maps import layers as maps
from geo.reports import workflow as reports
from pages.common import anchored, demo_notice, get_store, require_page

LEAFLET_URL = "../../app/static/vendor/leaflet"
MAP_KEY = "seg_mappa"
FLASH = "seg_flash"


@st.cache_data(show_spinner=False, max_entries=8)
def load_comuni(db: str, built: str, codes: tuple[str, ...]) -> pd.DataFrame:
    del built  # cache key only
    frame = open_store(db).comuni_geometries()
    return frame[frame["pro_com_t"].isin(codes)] if codes else frame


def on_map_change() -> None:
    """st_folium callback (before the rerun): a click sets the point, a drawn polygon the area."""
    value = st.session_state.get(MAP_KEY) or {}
    drawing = value.get("last_active_drawing")
    geometry = (drawing or {}).get("geometry") if isinstance(drawing, dict) else None
    if geometry and geometry.get("type") == "Polygon" and geometry != st.session_state.get("seg_area"):
        st.session_state["seg_area"] = geometry
        try:
            inside = reports.parse_area(geometry).representative_point()
        except reports.ReportError:
            return
        st.session_state["seg_lat"], st.session_state["seg_lon"] = round(inside.y, 6), round(inside.x, 6)
        return
    clicked = value.get("last_clicked")
    if clicked and clicked.get("lat") is not None:
        st.session_state["seg_lat"] = round(float(clicked["lat"]), 6)
        st.session_state["seg_lon"] = round(float(clicked["lng"]), 6)
        st.session_state["seg_area"] = None


def flash(message: str) -> None:
    st.session_state[FLASH] = message


def new_report_form(store, user, names: dict[str, str]) -> None:
    """The map and the form of a new report."""
    if st.session_state.pop("seg_reset", False):
        # Set, not deleted: the browser keeps a widget's value unless the server sends a new one.
        st.session_state.update({"seg_lat": None, "seg_lon": None, "seg_desc": "", "seg_cat": None,
                                 "seg_dup_ok": False, "seg_area": None})
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
        visible = reports.visible_reports(store, user, statuses=sorted(OPEN_REPORT_STATUS), comuni=own or None)
        comuni = load_comuni(str(store.path), store.get_meta("built_at") or "", tuple(own or ()))
        m = reports.reports_map(visible, comuni, tiles=tiles, assets_url=LEAFLET_URL, draw=draw)
        selected_id = st.session_state.get("seg_sel")
        selected = visible[visible["report_id"] == selected_id]
        st_folium(m, key=MAP_KEY, height=520, use_container_width=True,
                  returned_objects=["last_clicked", "last_active_drawing"], on_change=on_map_change,
                  feature_group_to_add=reports.draft_layer(
                      lat=st.session_state.get("seg_lat"), lon=st.session_state.get("seg_lon"),
                      area=st.session_state.get("seg_area"),
                      selected=selected.iloc[0].to_dict() if len(selected) else None))
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
        located = None
        if lat is not None and lon is not None:
            try:
                located = reports.locate(store, lat, lon)
            except reports.ReportError as exc:
                st.warning(str(exc), icon=":material/wrong_location:")
        if located:
            where = names.get(located[1], located[1])
            if allows(user, "create_report", pro_com_t=located[1]):
                st.success(f"Posizione nel Comune di {where}.", icon=":material/location_on:")
            else:
                st.error(f"Il punto è nel Comune di {where}, fuori dal territorio del Suo profilo.",
                         icon=":material/block:")
        category = st.selectbox("Categoria", options=list(REPORT_CATEGORIES), format_func=REPORT_CATEGORIES.get,
                                index=None, placeholder="Scegliere la categoria", key="seg_cat")
        severity = st.radio("Gravità", options=list(REPORT_SEVERITY), format_func=REPORT_SEVERITY.get, index=1,
                            horizontal=True, key="seg_sev")
        description = st.text_area("Descrizione", max_chars=reports.DESCRIPTION_MAX, key="seg_desc",
                                   placeholder="Che cosa si vede, da quando, a chi crea problemi…")
        uploads = st.file_uploader(
            f"Foto (JPEG o PNG, al massimo {reports.MAX_PHOTOS} da {reports.MAX_PHOTO_BYTES // 1_048_576} MB; "
            "la posizione GPS e gli altri metadati vengono rimossi)",
            type=["jpg", "jpeg", "png"], accept_multiple_files=True,
            key=f"seg_photos_{st.session_state.get('seg_upload_n', 0)}")
        duplicates = pd.DataFrame()
        if located and category:
            duplicates = reports.likely_duplicates(store, lat=lat, lon=lon, category=category)
        confirm = False
        if len(duplicates):
            st.warning(str(reports.DuplicateSuspected(duplicates)), icon=":material/content_copy:")
            shown = duplicates.assign(distanza=duplicates["distance_m"].round().astype(int).astype(str) + " m")
            st.dataframe(pd.DataFrame({"Codice": shown["report_id"], "Distanza": shown["distanza"],
                                       "Stato": shown["status"].map(REPORT_STATUS), "Aperta il": shown["opened"],
                                       "Descrizione": shown["description"]}),
                         hide_index=True, key="seg_dups")
            confirm = st.checkbox("Ho controllato: non è un doppione, salvare comunque", key="seg_dup_ok")
        ready = located is not None and category is not None and bool((description or "").strip())
        if st.button("Invia la segnalazione", type="primary", disabled=not ready, key="seg_send",
                     icon=":material/send:"):
            try:
                report_id = reports.create_report(
                    store, user, lat=lat, lon=lon, area=area, category=category, severity=severity,
                    description=description, photos=[(f.name, f.getvalue()) for f in uploads or []],
                    confirm_duplicates=confirm)
            except (PermissionDenied, reports.ReportError) as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                flash(f"Segnalazione {report_id} inviata.")
                st.session_state["seg_sel"] = report_id
                st.session_state["seg_reset"] = True
                st.rerun()
        if not ready:
            st.caption("Per inviare: punto sulla mappa nel territorio del Comune, categoria e descrizione.")


def report_details(store, user, report_id: str) -> None:
    """One report: its data, photos, history and the controls the role allows."""
    try:
        row = reports.get_report(store, user, report_id)
    except (PermissionDenied, reports.ReportError) as exc:
        st.error(str(exc), icon=":material/lock:")
        return
    names = reports.comune_names(store)
    facts = pd.DataFrame({"Voce": ["Codice", "Comune", "Categoria", "Gravità", "Stato", "Aperta il", "Chiusa il",
                                   "Posizione", "Fonte"],
                          "Valore": [row["report_id"], names.get(row["pro_com_t"], row["pro_com_t"]),
                                     REPORT_CATEGORIES.get(row["category"], row["category"]),
                                     REPORT_SEVERITY.get(row["severity"], "") if row["severity"] else "",
                                     REPORT_STATUS.get(row["status"], row["status"]), str(row["opened"] or ""),
                                     str(row["closed"] or ""), f"{row['lat']:.5f}, {row['lon']:.5f}"
                                     + (" (area)" if row["area_wkt"] else ""), str(row["source"] or "")]})
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
            try:
                reports.change_status(store, user, rid, target, comment=note)
            except (PermissionDenied, reports.ReportError) as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                flash(f"Segnalazione {rid}: stato «{REPORT_STATUS[target]}».")
                st.rerun()
    if acts.comment:
        st.markdown("**Commento**")
        text = st.text_area("Testo del commento", key=f"seg_comment_{rid}", max_chars=reports.COMMENT_MAX)
        if st.button("Aggiungi il commento", key="seg_comment_go", icon=":material/comment:"):
            try:
                reports.add_comment(store, user, rid, text)
            except (PermissionDenied, reports.ReportError) as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                flash(f"Commento aggiunto alla segnalazione {rid}.")
                st.rerun()
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
                try:
                    reports.edit_report(store, user, rid, category=category, severity=severity,
                                        description=description)
                except (PermissionDenied, reports.ReportError) as exc:
                    st.error(str(exc), icon=":material/error:")
                else:
                    flash(f"Segnalazione {rid} corretta.")
                    st.rerun()
            more = st.file_uploader("Altre foto (JPEG o PNG)", type=["jpg", "jpeg", "png"],
                                    accept_multiple_files=True, key=f"seg_more_{rid}")
            if st.button("Aggiungi le foto", key="seg_photo_go", disabled=not more):
                try:
                    reports.add_photos(store, user, rid, [(f.name, f.getvalue()) for f in more or []])
                except (PermissionDenied, reports.ReportError) as exc:
                    st.error(str(exc), icon=":material/error:")
                else:
                    flash(f"Foto aggiunte alla segnalazione {rid}.")
                    st.rerun()


def reports_list(store, user, names: dict[str, str]) -> None:
    """The reports the role may see, filterable, with the one chosen for details."""
    own = scope(user.role, "view_reports") != "tutti"
    st.subheader("Segnalazioni del mio Comune" if own else "Segnalazioni")
    c1, c2 = st.columns([2, 2])
    statuses = c1.multiselect("Stato", options=list(REPORT_STATUS), format_func=REPORT_STATUS.get,
                              default=[s for s in REPORT_STATUS if s in OPEN_REPORT_STATUS], key="seg_stati")
    comuni = reports.visible_comuni(user)
    options = list(comuni) if comuni is not None else list(names)
    chosen = c2.multiselect("Comuni", options=options, format_func=lambda c: names.get(c, c), key="seg_comuni",
                            placeholder="Tutti" if comuni is None else "Tutti i propri")
    frame = reports.visible_reports(store, user, statuses=statuses or None, comuni=chosen or None)
    st.caption(f"{len(frame)} segnalazioni. Le descrizioni sono mostrate come testo.")
    st.dataframe(reports.table(frame.head(1000)), hide_index=True, height=320, width="stretch", key="seg_table",
                 column_config={"Aperta il": st.column_config.DateColumn(format="DD/MM/YYYY"),
                                "Chiusa il": st.column_config.DateColumn(format="DD/MM/YYYY")})
    st.download_button("Scarica CSV", data=anchored(reports.reports_csv(frame), "csv"), file_name="segnalazioni.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore", key="seg_csv")
    wanted = st.query_params.get("segnalazione")  # a link to one report (e.g. from the agenda)
    ids = frame["report_id"].tolist()
    if wanted and wanted not in ids:
        try:
            row = reports.get_report(store, user, wanted)
        except (PermissionDenied, reports.ReportError) as exc:
            st.error(str(exc), icon=":material/lock:")
        else:  # visible, but filtered out of the list: add it
            frame = pd.concat([frame, reports.visible_reports(store, user, comuni=[row["pro_com_t"]]).query(
                "report_id == @wanted")], ignore_index=True)
            ids.append(wanted)
    if wanted in ids and st.session_state.get("seg_sel") is None:
        st.session_state["seg_sel"] = wanted
    if st.session_state.get("seg_sel") not in ids:
        st.session_state["seg_sel"] = None
    labels = dict(zip(frame["report_id"], frame["report_id"] + " · " + frame["comune"].fillna("") + " · "
                      + frame["category"].map(REPORT_CATEGORIES).fillna("") + " · "
                      + frame["status"].map(REPORT_STATUS).fillna(""), strict=True))
    report_id = st.selectbox("Segnalazione da vedere o gestire", options=ids, format_func=labels.get,
                             index=None, key="seg_sel", placeholder="Scegliere una segnalazione")
    if report_id:
        report_details(store, user, report_id)


def import_block(store, user, names: dict[str, str]) -> None:
    """Bulk import of a Comune's reports from a Municipium-style CSV."""
    if not allows(user, import_action("reports")):
        return
    with st.expander("Importa segnalazioni da un CSV (formato Municipium)"):
        st.caption("Colonne: Id;Stato;Anno;Creato;Chiusa;DescrizioneBreve;Categoria più le coordinate "
                   "(lat e lon, oppure latitudine e longitudine). Le categorie di manutenzione stradale "
                   "(buche, tombini, semafori…) non sono degrado e vengono saltate.")
        comuni = reports.visible_comuni(user, import_action("reports"))
        options = list(comuni) if comuni is not None else list(names)
        code = st.selectbox("Comune del file", options=options, format_func=lambda c: names.get(c, c),
                            key="seg_imp_comune")
        partial = st.checkbox("Importa solo le righe valide", key="seg_imp_partial")
        upload = st.file_uploader("File CSV", type=["csv"], key="seg_imp_file")
        if st.button("Importa", disabled=upload is None, key="seg_imp_go"):
            with tempfile.TemporaryDirectory(prefix="lanterna-upload-") as tmp:
                path = Path(tmp) / "segnalazioni.csv"
                path.write_bytes(upload.getvalue())
                try:
                    territory = territory_of_store(store)
                    result = reports.import_municipium(store, territory, user, path, pro_com_t=code,
                                                       partial=partial, file_name=Path(upload.name).name)
                except (PermissionDenied, TerritoryError) as exc:
                    st.error(str(exc), icon=":material/lock:")
                except ImportFailed as exc:
                    st.error("\n".join(exc.messages), icon=":material/error:")
                    if exc.report is not None and len(exc.report):
                        st.dataframe(exc.report, hide_index=True, key="seg_imp_report")
                else:
                    flash(" ".join(result.messages))
                    st.rerun()


def main() -> None:
    user = require_page("view_reports")
    store = get_store()
    st.title("Segnalazioni di degrado")
    demo_notice(store)
    message = st.session_state.pop(FLASH, None)
    if message:
        st.success(message, icon=":material/check_circle:")
    names = reports.comune_names(store)
    if allows(user, "create_report"):
        new_report_form(store, user, names)
    reports_list(store, user, names)
    import_block(store, user, names)


main()
