"""Interventi: the register of the pact's interventions (art. 19) and their evaluation.

A thin view over :mod:`geo.interventions`: the list, a form to register an intervention on H3
hexagons, the evaluation of the selected one (estimate, interval, WDQ, regression-to-the-mean
warning, treated vs comparison monthly series) and the monitoring report (HTML and CSV).
"""

from __future__ import annotations

from datetime import date

import altair as alt
import streamlit as st

from geo.access.permissions import PermissionDenied, allows
from geo.access.privacy import format_decimal, format_int, format_percent
from geo.interventions import evaluation as ev
from geo.interventions import links
from geo.interventions import register as reg
from geo.interventions import report as rep
from pages.common import demo_notice, get_store, require_page
from pages.intervention_start import area_picker, report_picker, start_from_reports


def _evaluation(store, user, row: dict, cells: list[int]) -> None:
    family = st.selectbox("Famiglia di reati", list(ev.FAMILIES), format_func=ev.FAMILY_LABELS.get,
                          key="interv_family")
    try:
        out = ev.evaluate(store, cells, int(row["res"]), row["start_date"], family=family, n_placebo=199)
    except ev.EvaluationError as exc:
        st.warning(str(exc))
        return
    c1, c2, c3 = st.columns(3)
    c1.metric("Effetto stimato", format_percent(out.effect, 0), border=True)
    c2.metric("Intervallo al 95 %", f"{format_percent(out.low - 1, 0)}; {format_percent(out.high - 1, 0)}",
              border=True)
    c3.metric("WDQ (anello)", "–" if out.wdq is None else format_decimal(out.wdq, 2), border=True)
    if out.rtm_warning:
        st.warning("L'area era tra le più alte prima dell'intervento: parte del calo può essere regressione "
                   "verso la media; il confronto abbinato serve a contenerla.", icon=":material/warning:")
    for line in out.lines(user.role)[1:]:
        if not line.startswith("Attenzione"):
            st.caption(line)
    series = out.series.melt("month", var_name="area", value_name="media")
    chart = alt.Chart(series).mark_line(point=True).encode(
        x=alt.X("month:T", title="Mese", axis=alt.Axis(format="%m/%Y")),
        y=alt.Y("media:Q", title="Episodi medi per esagono al mese"),
        color=alt.Color("area:N", title="Area"),
    ).properties(height=260)
    rule = alt.Chart({"values": [{"d": str(row["start_date"])}]}).mark_rule(strokeDash=[4, 4]).encode(x="d:T")
    st.altair_chart(chart + rule, width="stretch")


def _create_form(store, user) -> None:
    # no st.form: the proposed reports follow the hexagons as they are typed
    title = st.text_input("Titolo", key="interv_new_title")
    kind = st.selectbox("Tipo", list(reg.KINDS), format_func=reg.KINDS.get, key="interv_new_kind")
    comuni = store.comuni()
    names = dict(zip(comuni["pro_com_t"], comuni["nome"], strict=True))
    comune = st.selectbox("Comune", list(names), format_func=names.get, key="interv_new_comune")
    cells_text = st.text_area("Esagoni H3 (risoluzione 9, separati da virgole o a capo; oppure l'area disegnata sotto)",
                              key="interv_new_cells",
                              help="Per esempio gli esagoni di una zona pilota (pagina Zone pilota).")
    c1, c2 = st.columns(2)
    start = c1.date_input("Inizio", value=date.today().replace(day=1), format="DD/MM/YYYY", key="interv_new_start")
    cost = c2.number_input("Costo (€)", min_value=0.0, step=1000.0, format="%.0f", key="interv_new_cost")
    body = st.text_input("Soggetto responsabile", key="interv_new_body")
    status = st.selectbox("Stato", list(reg.STATUSES), format_func=reg.STATUSES.get, key="interv_new_status")
    try:
        cells = [ev.parse_cell(c) for c in cells_text.replace("\n", ",").split(",") if c.strip()]
    except ValueError as exc:
        st.error(str(exc))
        return
    cells = sorted(set(cells) | set(area_picker(store, "interv_new_area")))
    reports = report_picker(store, user, cells, 9, key="interv_new_reports")
    if not st.button("Registra intervento", key="interv_new_submit"):
        return
    try:
        iid = reg.create_intervention(store, user, kind=kind, title=title, cells=cells, res=9, start=start,
                                      cost_eur=cost or None, responsible=body, status=status, pro_com_t=comune,
                                      report_ids=reports)
    except (reg.InterventionError, ValueError, PermissionDenied) as exc:
        st.error(str(exc))
        return
    st.success(f"Intervento {iid} registrato.")


def _linked(store, user, row: dict) -> None:
    shown, hidden = links.linked_reports(store, user, row)
    if shown.empty and not hidden:
        st.caption("Nessuna segnalazione collegata.")
        return
    st.markdown("**Segnalazioni collegate**")
    if len(shown):
        st.dataframe(shown[links.COLUMNS].rename(columns={
            "report_id": "Codice", "comune": "Comune", "categoria": "Categoria", "stato": "Stato",
            "aperta": "Aperta il", "sintetico": "Sintetico"}), hide_index=True, key="interv_linked")
    if hidden:
        st.caption(f"{format_int(hidden)} segnalazioni collegate non sono visibili a questo profilo.")


def main() -> None:
    user = require_page("view_interventions")
    store = get_store()
    st.title("Interventi")
    demo_notice(store)
    st.caption("Registro degli interventi del Patto e verifica dei risultati (art. 19): prima e dopo, contro aree "
               "di confronto abbinate, con lo spostamento nell'anello circostante.")
    items = reg.list_interventions(store, user)
    if items["synthetic"].any():
        st.info("Gli interventi contrassegnati «sintetico» sono generati per la demo, con un effetto introdotto "
                "(−30 %).", icon=":material/science:")
    shown = items.assign(
        inizio=[d.strftime("%d/%m/%Y") for d in items["start_date"]],
        costo=[format_int(v) if v == v and v is not None else "" for v in items["cost_eur"]],
        sintetico=["sì" if s else "no" for s in items["synthetic"]],
    )[["intervention_id", "title", "luogo", "tipo", "stato", "inizio", "costo", "responsible", "n_cells",
       "sintetico"]]
    st.dataframe(shown.rename(columns={"intervention_id": "Codice", "title": "Titolo", "luogo": "Luogo", "tipo": "Tipo",
                                       "stato": "Stato", "inizio": "Inizio", "costo": "Costo (€)",
                                       "responsible": "Responsabile", "n_cells": "Esagoni",
                                       "sintetico": "Sintetico"}),
                 hide_index=True, width="stretch", key="interv_table")
    if len(items):
        chosen = st.selectbox("Intervento da valutare", list(items["intervention_id"]), key="interv_pick",
                              format_func=lambda i: f"{i} — {items.set_index('intervention_id').at[i, 'title']}")
        row, cells = reg.get_intervention(store, user, chosen)
        _linked(store, user, row)
        st.subheader("Valutazione")
        _evaluation(store, user, row, cells)
        st.subheader("Report di monitoraggio")
        if st.button("Prepara il report per la Cabina di regia", key="interv_report"):
            frame = rep.monitoring_frame(store, user)
            d1, d2, _ = st.columns([1, 1, 2])
            d1.download_button("Scarica HTML", data=rep.html_report(frame).encode("utf-8"),
                               file_name="monitoraggio_interventi.html", mime="text/html")
            d2.download_button("Scarica CSV", data=rep.csv_bytes(frame), file_name="monitoraggio_interventi.csv",
                               mime="text/csv")
    else:
        st.info("Nessun intervento registrato.")
    if allows(user, "manage_interventions"):
        with st.expander("Registra un nuovo intervento"):
            _create_form(store, user)
        start_from_reports(store, user)


main()
