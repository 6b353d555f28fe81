"""The "Avvia intervento" form of Zone pilota and Illuminazione (the logic is geo.interventions.start).

Only users who may register interventions (``manage_interventions``) see it; the draft comes
prefilled (kind, title, cells, comune, cost, start date today) and is registered, audited, by
:func:`geo.interventions.start.create_from_draft`.
"""

from __future__ import annotations

import contextlib

import pandas as pd
import streamlit as st

from geo.access.permissions import PermissionDenied, User
from geo.access.privacy import format_int
from geo.interventions import links
from geo.interventions import start as start_logic
from geo.interventions.register import KINDS, STATUSES, InterventionError
from geo.interventions.start import Draft

INTERVENTI_PAGE = "pages/interventi.py"


def draft_form(store, user: User, draft: Draft, key: str) -> None:
    """The prefilled form of ``draft`` (reports in the draft's cells may be linked too)."""
    st.caption(f"Tipo: **{KINDS[draft.kind]}** · {format_int(len(draft.cells))} esagoni (risoluzione {draft.res})"
               + (f" · comune {draft.pro_com_t}" if draft.pro_com_t else " · più comuni"))
    if not start_logic.can_start(user, draft):
        st.info("Il profilo può avviare interventi solo nei propri comuni: questa selezione ne tocca altri.",
                icon=":material/lock:")
        return
    with st.form(f"{key}_form"):
        title = st.text_input("Titolo", value=draft.title, key=f"{key}_title")
        c1, c2 = st.columns(2)
        start = c1.date_input("Inizio", value=draft.start, format="DD/MM/YYYY", key=f"{key}_start")
        cost = c2.number_input("Costo (€)", min_value=0.0, step=1000.0, value=float(draft.cost_eur or 0.0),
                               format="%.0f", key=f"{key}_cost")
        body = st.text_input("Soggetto responsabile", key=f"{key}_body")
        status = st.selectbox("Stato", list(STATUSES), format_func=STATUSES.get, key=f"{key}_status")
        reports = report_picker(store, user, draft.cells, draft.res, key=f"{key}_reports", chosen=draft.report_ids)
        if not st.form_submit_button("Avvia intervento", icon=":material/play_arrow:"):
            return
    try:
        iid = start_logic.create_from_draft(store, user, draft, title=title, start=start, cost_eur=cost or None,
                                            responsible=body, status=status, report_ids=tuple(reports))
    except (InterventionError, PermissionDenied, ValueError) as exc:
        st.error(str(exc))
        return
    st.success(f"Intervento {iid} registrato: si trova nella pagina Interventi, dove si può valutarlo.",
               icon=":material/check_circle:")
    with contextlib.suppress(KeyError, st.errors.StreamlitAPIException):  # not in this user's navigation
        st.page_link(INTERVENTI_PAGE, label="Apri la pagina Interventi", icon=":material/arrow_forward:")


def report_picker(store, user: User | None, cells, res: int, *, key: str, chosen=()) -> list[str]:
    """A multiselect of the reports the user may see in ``cells`` (those of ``chosen`` preselected)."""
    if not links.can_link(user) or not cells:
        return list(chosen)
    found = links.reports_in_cells(store, user, cells, res)
    options = list(dict.fromkeys([*chosen, *found["report_id"]]))
    labels = dict(zip(found["report_id"], found["categoria"] + " · " + found["stato"], strict=True))
    return st.multiselect(f"Segnalazioni collegate ({format_int(len(found))} negli esagoni dell'intervento)",
                          options, default=list(chosen), key=key,
                          format_func=lambda r: f"{r} — {labels[r]}" if r in labels else r,
                          help="Sono proposte le segnalazioni visibili al profilo che cadono negli esagoni.")


def start_from_reports(store, user: User | None, res: int = 9) -> None:
    """A ``decoro`` intervention on the hexagons of selected open reports (linked to it)."""
    if not start_logic.can_start(user) or not links.can_link(user):
        return
    with st.expander(":material/cleaning_services: Avvia un intervento di decoro da segnalazioni"):
        open_ = links.open_reports(store, user)
        labels = dict(zip(open_["report_id"], open_["comune"].fillna("") + " · " + open_["categoria"], strict=True))
        picked = st.multiselect("Segnalazioni aperte", list(labels), key="interv_decoro_pick",
                                format_func=lambda r: f"{r} — {labels[r]}", max_selections=50,
                                help="Gli esagoni delle segnalazioni scelte diventano l'area dell'intervento.")
        if not picked:
            st.caption("Scegliere una o più segnalazioni.")
            return
        try:
            draft = links.decoro_draft(store, user, picked, res)
        except (InterventionError, PermissionDenied) as exc:
            st.error(str(exc))
            return
        draft_form(store, user, draft, "interv_decoro")


def start_from_zone(store, user: User | None, zones: pd.DataFrame, res: int) -> None:
    """An expander to start a ``zona_pilota`` intervention from one zone of the ranking."""
    if not start_logic.can_start(user) or zones.empty:
        return
    with st.expander(":material/play_arrow: Avvia intervento su una zona", expanded=False):
        labels = dict(zip(zones["zone"], zones["comuni"], strict=True))
        zone = st.selectbox("Zona", list(labels), key="zp_start_zone",
                            format_func=lambda z: f"{z} · {', '.join(labels[z])}")
        draft = start_logic.zone_draft(store, zones, zone, res)
        draft_form(store, user, draft, f"zp_start_{zone}")


def start_from_plan(store, user: User | None, plan, res: int, names: dict[str, str]) -> None:
    """An expander to start an ``illuminazione`` intervention from the current plan."""
    if not start_logic.can_start(user) or plan.selected.empty:
        return
    with st.expander(":material/play_arrow: Avvia intervento dal piano", expanded=False):
        draft = start_logic.plan_draft(plan, res, names=names)
        draft_form(store, user, draft, "il_start")


def area_picker(store, key: str) -> list[int]:
    """Hexagons of an area drawn on a map (empty until one is drawn); errors in Italian."""
    from streamlit_folium import st_folium

    from geo.maps.layers import LEAFLET_APP_URL

    with st.container(border=True):  # inside the page's expander: expanders may not be nested
        st.markdown(":material/draw: **Oppure disegnare l'area sulla mappa**")
        m = start_logic.area_map(store.comuni_geometries(), assets_url=LEAFLET_APP_URL)
        value = st_folium(m, key=f"{key}_map", height=420, use_container_width=True,
                          returned_objects=["last_active_drawing"])
        drawing = (value or {}).get("last_active_drawing")
        if not drawing:
            st.caption("Disegnare un poligono o un rettangolo (strumenti in alto a sinistra): gli esagoni con il "
                       "centro nell'area si aggiungono a quelli scritti sopra.")
            return []
        try:
            cells = start_logic.area_cells(drawing, 9, territory_cells=store.cell_context(9)["cell"])
        except InterventionError as exc:
            st.error(str(exc))
            return []
        st.caption(f"Area disegnata: {format_int(len(cells))} esagoni.")
        return list(cells)
