"""Registro delle modifiche: the audit log of every write, for the Prefettura (pact art. 19).

A thin view over :mod:`geo.access.audit`: filters, the integrity check of the keyed chain (with
every problem and the first entry affected), the entries (shown as text) and a CSV export that
neutralises spreadsheet formulas, is itself recorded and carries the chain's anchor.
"""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from geo.access import audit
from geo.access.privacy import format_int
from pages.common import anchored, get_store, require_page


def main() -> None:
    user = require_page("view_audit")
    store = get_store()
    st.title("Registro delle modifiche")
    st.caption("Ogni scrittura nel database (segnalazioni, stati, commenti, foto, importazioni, utenti, censimento "
               "dei servizi) con chi l'ha fatta, quando, e lo stato prima e dopo. Il registro si può solo "
               "aggiungere: non esiste un comando per modificarlo o cancellarlo.")
    check = audit.verify_chain(store)
    if check.ok:
        st.success(check.message, icon=":material/verified:")
    else:
        st.error(check.message, icon=":material/gpp_bad:")
        with st.expander(f"Problemi trovati ({len(check.problems)}), dalla voce n. {check.first_bad}"):
            st.text("\n".join(f"- {p}" for p in check.problems))
    st.caption("Le voci sono firmate con una chiave custodita fuori dal database (HMAC-SHA256); ogni esportazione "
               "scrive un'ancora della testa del registro in un file esterno e la stampa sul documento. "
               "Verifica completa: `python -m geo audit verifica`.")
    c1, c2, c3, c4 = st.columns(4)
    today = date.today()
    period = c1.date_input("Periodo", value=(today - timedelta(days=30), today), format="DD/MM/YYYY", key="reg_period")
    start, end = (period if isinstance(period, tuple) and len(period) == 2 else (period, period)) if period else (
        None, None)
    username = c2.text_input("Utente", key="reg_user", placeholder="tutti")
    table = c3.selectbox("Tabella", options=["", "reports", "report_events", "report_photos", "users", "audit_log",
                                             "services", "incidents", "lighting", "schools", "roads"],
                         format_func=lambda t: t or "tutte", key="reg_table")
    action = c4.selectbox("Azione", options=["", *audit.ACTION_LABELS], format_func=lambda a: audit.ACTION_LABELS.get(
        a, "tutte"), key="reg_action")
    filters = {"start": start, "end": end, "username": username.strip() or None, "table": table or None,
               "action": action or None}
    entries = audit.entries(store, user, **filters)
    st.caption(f"{format_int(len(entries))} voci; le più recenti in alto. Orari in UTC.")
    shown = audit.display_frame(entries).iloc[::-1]
    st.dataframe(shown.head(2000), hide_index=True, height=520, width="stretch", key="reg_table_view")
    st.download_button("Scarica CSV", data=anchored(lambda: audit.export_csv(store, user, **filters), "csv"),
                       file_name="registro_modifiche.csv", mime="text/csv", icon=":material/download:",
                       key="reg_csv")


main()
