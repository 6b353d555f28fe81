"""Dati e fonti: what is loaded, where it comes from, the credits, and the file import.

A view: tables from :mod:`geo.ingest.data_views`, the import from :mod:`geo.ingest.upload`.
"""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from geo import config
from geo.access import privacy
from geo.access.permissions import OWN, import_action, importable_layers, role_label, scope
from geo.data import sources
from geo.data.io import SUPPORTED_CRS
from geo.data.schemas import LAYERS
from geo.data.territory import TerritoryError, territory_of_store
from geo.ingest import data_views, upload
from pages.common import current_user, demo_notice, get_store, require_page

NOTHING_CHANGED = "Nessun dato è stato modificato."


def show_outcome(outcome: dict) -> None:
    layer = LAYERS[outcome["layer"]]
    report = outcome.get("report")
    stem = Path(outcome["file_name"]).stem
    if not outcome["ok"]:
        st.error(f"**Importazione non riuscita: {outcome['file_name']}**\n\n"
                 + "\n".join(f"- {m}" for m in outcome["messages"]))
        if outcome["unchanged"]:
            st.info(f"{NOTHING_CHANGED} Il livello *{layer.label}* ha ancora "
                    f"{privacy.format_int(outcome['rows_after'])} righe.")
        else:  # must not happen: the importer writes in one transaction
            st.error(f"Il numero di righe del livello è cambiato ({outcome['rows_before']} → {outcome['rows_after']}).")
        if report is not None and not report.empty:
            st.markdown(f"**Errori riga per riga** ({privacy.format_int(len(report))} segnalazioni)")
            st.dataframe(report, hide_index=True, key="import_report")
            st.download_button("Scarica il rapporto degli errori (CSV)", upload.report_csv(report),
                               file_name=f"{stem}_errori.csv", mime="text/csv", on_click="ignore",
                               key="dl_report_failed")
        return
    if outcome["already_imported"]:
        st.info(f"Il file **{outcome['file_name']}** era già stato importato nel livello *{layer.label}*: "
                f"{NOTHING_CHANGED}")
    else:
        st.success(f"File **{outcome['file_name']}** importato nel livello *{layer.label}*.")
    c1, c2, c3 = st.columns(3)
    c1.metric("Righe lette", privacy.format_int(outcome["rows_read"]))
    c2.metric("Righe scritte", privacy.format_int(outcome["rows_written"]))
    c3.metric("Righe scartate", privacy.format_int(outcome["rows_rejected"]))
    for message in outcome["messages"]:
        st.caption(message)
    if report is not None and not report.empty:
        with st.expander(f"Righe scartate: motivi ({privacy.format_int(len(report))})"):
            st.dataframe(report, hide_index=True, key="import_report_partial")
            st.download_button("Scarica il rapporto (CSV)", upload.report_csv(report), file_name=f"{stem}_errori.csv",
                               mime="text/csv", on_click="ignore", key="dl_report_partial")
    if outcome.get("rejected_file"):
        st.download_button("Scarica le righe scartate (CSV)", outcome["rejected_file"],
                           file_name=f"{stem}_righe_scartate.csv", mime="text/csv", on_click="ignore",
                           key="dl_rejected")


# --------------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------------

require_page("view_data")  # the page's own check, besides the navigation
store = get_store()
st.title("Dati e fonti")
demo_notice(store)
try:
    territory = territory_of_store(store)
except TerritoryError as exc:
    st.error(str(exc))
    st.stop()

for _warning in json.loads(store.get_meta("territory_warnings") or "[]"):
    st.warning(_warning, icon=":material/info:")

st.subheader("Livelli caricati")
st.caption(f"Territorio: **{territory.name}**. Per i delitti una riga è un aggregato anonimo (cella × mese × "
           "categoria × fascia oraria): gli *eventi* sono la somma dei conteggi.")
st.dataframe(
    data_views.catalogue_view(sources.layer_catalogue(store, territory)),
    hide_index=True,
    key="layer_table",
    column_config={
        "Livello": st.column_config.TextColumn(width=260),
        "Righe": st.column_config.NumberColumn(format="localized"),
        "Eventi": st.column_config.TextColumn(help="Per i delitti: somma dei conteggi delle righe aggregate."),
        "Periodo": st.column_config.TextColumn(width="medium"),
        "Importati": st.column_config.NumberColumn(format="localized"),
        "Generati": st.column_config.ProgressColumn(
            "Generati (demo)", help="Quota di righe generate (per i delitti: quota di eventi).",
            min_value=0, max_value=100, format="%.0f %%"),
        "Fonte": st.column_config.TextColumn(width="large"),
    },
)

st.subheader("File del territorio e tabelle nazionali")
files = sources.territory_files(territory)
st.dataframe(
    files.rename(columns={"file": "File", "livello": "Contenuto", "fonte": "Fonte", "licenza": "Licenza",
                          "anno": "Anno", "ambito": "Ambito"}),
    hide_index=True,
    key="files_table",
)

st.subheader("Attribuzioni")
st.markdown("Dati di terzi usati da Lanterna, con i crediti richiesti dalle loro licenze:\n\n"
            + sources.attributions_markdown(territory))
st.caption("I dati con licenza CC BY-SA (beni confiscati) restano sotto la stessa licenza anche nelle elaborazioni "
           "che li contengono. I dati generati per la demo non descrivono fatti reali.")

st.subheader("Importa un file")
user = current_user()
allowed_layers = importable_layers(user)
if not allowed_layers:
    st.info(f"Il profilo «{role_label(user.role if user else None)}» non importa file: i dati si caricano dai profili "
            "della Prefettura, delle Forze di polizia (delitti) e dei Comuni (per il proprio territorio).",
            icon=":material/lock:")
    st.stop()
own = [LAYERS[k].label for k in allowed_layers if scope(user.role, import_action(k)) == OWN]
st.info(
    f"Profilo: **{role_label(user.role)}**. Livelli che può importare: "
    + ", ".join(LAYERS[k].label for k in allowed_layers) + "."
    + (f" Per {', '.join(own)} solo righe dei propri comuni ({', '.join(user.comuni)})." if own else "")
    + " Ogni importazione è registrata con l'utente che l'ha eseguita.",
    icon=":material/lock:",
)
c1, c2 = st.columns(2)
layer_key = c1.selectbox("Livello", options=allowed_layers, format_func=lambda k: LAYERS[k].label, key="imp_layer")
crs = c2.selectbox(
    "Sistema di riferimento delle coordinate",
    options=[None, *SUPPORTED_CRS],
    format_func=lambda c: "Automatico (dal file; WGS 84 per CSV e tabelle)" if c is None
    else f"EPSG:{c} – {SUPPORTED_CRS[c]}",
    key="imp_crs",
)
layer = LAYERS[layer_key]
st.caption(layer.description)
with st.expander(f"Campi del livello *{layer.label}*"):
    st.dataframe(data_views.fields_table(layer), hide_index=True)
    if layer.location in ("point", "aggregate"):
        st.caption("Posizione: una geometria puntuale (GeoJSON, GeoPackage, Shapefile, GeoParquet) oppure due "
                   "colonne di coordinate (per esempio *lat* e *lon*, *latitudine* e *longitudine*, *x* e *y*).")
o1, o2 = st.columns(2)
partial = o1.checkbox(
    "Importa solo le righe valide", key="imp_partial",
    help="Senza questa opzione un solo errore blocca l'intero file. Con l'opzione le righe valide vengono importate "
         "e quelle scartate si possono scaricare con il motivo.")
swap_xy = o2.checkbox("Coordinate invertite (scambia X e Y)", key="imp_swap",
                      help="Per i file che hanno la latitudine nella colonna della longitudine e viceversa.")
uploaded = st.file_uploader(
    f"File da importare (CSV, GeoJSON, GeoPackage, Shapefile in ZIP, Parquet; massimo "
    f"{config.MAX_IMPORT_BYTES // 1_048_576} MB)",
    type=upload.UPLOAD_TYPES,
    key="imp_file",
)
if st.button("Importa", type="primary", disabled=uploaded is None, key="imp_go"):
    bar = st.progress(0.0, text=f"Importazione di {uploaded.name}…")

    def progress(fraction: float, text: str | None = None) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=text or f"Importazione di {uploaded.name}…")

    outcome = upload.run_import(store, territory, layer_key, uploaded.name, uploaded.getvalue(), crs=crs,
                         swap_xy=swap_xy, partial=partial, user=user.username, progress=progress, actor=user)
    bar.empty()
    st.session_state["import_outcome"] = {**outcome, "upload_id": uploaded.file_id}
    if outcome["ok"] and outcome["rows_written"]:
        st.cache_data.clear()  # other pages may hold figures computed before the import
        st.rerun()  # the tables above were drawn before the import
last = st.session_state.get("import_outcome")
if last and uploaded is not None and last["upload_id"] == uploaded.file_id:  # hidden once the file is removed
    show_outcome(last)

imports = store.table("imports")
if not imports.empty:
    st.subheader("Importazioni registrate")
    st.dataframe(
        data_views.imports_history(imports),
        hide_index=True,
        key="imports_table",
        column_config={"Data": st.column_config.DatetimeColumn(format="DD/MM/YYYY HH:mm")},
    )
