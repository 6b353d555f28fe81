"""The census forms of the Servizi senza dimora page (add, edit, close, change log), shown only
to roles that manage some comune. View code only: every submit goes through
:mod:`geo.services.homeless`, which checks the role again on the server side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geo.data.schemas import SERVICE_TYPES
from geo.services import homeless as hl
from geo.services import homeless_views as hv
from pages.common import current_user


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
        lat0, lon0 = hv.service_centre(store, allowed[0])
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
