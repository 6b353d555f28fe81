"""Agenda CPOSP: the reports brought to the provincial committee and the interventions decided.

A thin view over :func:`geo.reports.workflow.agenda`: what is to be discussed (``in_agenda_cposp``) and the
intervention pipeline (``intervento_programmato``), exportable as CSV and as a printable page.
A Comune sees the items of its own territory; status changes are made on the *Segnalazioni* page.
"""

from __future__ import annotations

import streamlit as st

from geo.access.permissions import allows
from geo.access.privacy import format_int
from geo.reports import workflow as reports
from pages.common import anchored, demo_notice, get_store, require_page


def main() -> None:
    user = require_page("view_agenda")
    store = get_store()
    st.title("Agenda del CPOSP")
    demo_notice(store)
    st.caption("Segnalazioni portate all'ordine del giorno del Comitato provinciale per l'ordine e la sicurezza "
               "pubblica e interventi programmati (artt. 4 e 19 del Patto).")
    table = reports.agenda(store, user)
    to_discuss = int((table["Stato"] == reports.REPORT_STATUS["in_agenda_cposp"]).sum())
    c1, c2, c3 = st.columns(3)
    c1.metric("Da discutere", format_int(to_discuss), border=True)
    c2.metric("Interventi programmati", format_int(len(table) - to_discuss), border=True)
    c3.metric("Gravità alta", format_int(int((table["Gravità"] == "Alta").sum())), border=True)
    shown = table.drop(columns=["Lat", "Lon"]).assign(**{
        "All'ordine del giorno dal": [d.strftime("%d/%m/%Y") if d is not None and d == d else ""
                                      for d in table["All'ordine del giorno dal"]]})
    st.dataframe(shown, hide_index=True, height=480, width="stretch", key="agenda_table",
                 column_config={"Aperta il": st.column_config.DateColumn(format="DD/MM/YYYY")})
    if allows(user, "export_agenda"):
        territory = store.get_meta("territory_name") or ""
        d1, d2, _ = st.columns([1, 1, 2])
        d1.download_button("Scarica CSV", data=anchored(lambda: reports.agenda_csv(store, user), "csv"),
                           file_name="agenda_cposp.csv",
                           mime="text/csv", icon=":material/download:", key="agenda_csv")
        d2.download_button("Pagina da stampare",
                           data=anchored(lambda: reports.agenda_html(store, user, territory=territory), "html"),
                           file_name="agenda_cposp.html", mime="text/html", icon=":material/print:",
                           key="agenda_html")
        st.caption("La pagina da stampare si apre nel browser (File › Stampa). Ogni esportazione è registrata.")
    st.page_link("pages/segnalazioni.py", label="Gestire le segnalazioni", icon=":material/campaign:")


main()
