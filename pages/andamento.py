"""Andamento: incidents over time, change against the previous period, provincial benchmark.

A view: the figures come from :mod:`geo.overview.trends`, the charts and tables from
:mod:`geo.overview.trend_views`.
"""

from __future__ import annotations

import streamlit as st

from geo import config
from geo.access import privacy
from geo.access.disclosure import PROTECTED_NOTE
from geo.data.territory import TerritoryError, territory_of_store
from geo.overview import trend_views as views
from geo.overview import trends
from pages.common import current_role, demo_notice, get_store, month_label, pact_label, require_page, sidebar_filters

require_page("view_trends")  # the page's own check, besides the navigation

store = get_store()
st.title("Andamento dei delitti")
demo_notice(store)
filters = sidebar_filters(store)
role = current_role()
cleared = privacy.can_see_exact(role)
try:
    territory = territory_of_store(store)
except TerritoryError as exc:
    st.error(str(exc))
    st.stop()

window = trends.comparison_window(store, filters)
if window is None:
    st.info("Nessun delitto caricato: importare un file nella pagina *Dati e fonti*. "
            "Il confronto con le altre province (dati ISTAT) resta disponibile qui sotto.")
else:
    prev_text = (f"{month_label(window.previous_start)} – {month_label(window.previous_end)}"
                 if window.previous_covered else "non disponibile (i dati non coprono il periodo precedente)")
    st.caption(
        f"Periodo: **{month_label(window.start)} – {month_label(window.end)}** ({window.months} mesi) · "
        f"periodo precedente di pari durata: **{prev_text}**. I grafici sommano i delitti di tutti i comuni, "
        "le categorie e le fasce orarie scelti nei filtri."
    )
    if not cleared:
        st.caption(f":material/lock: Ruolo *{privacy.ROLES.get(role, role)}*. {PROTECTED_NOTE} Frequenza minima "
                   f"{config.SUPPRESSION_THRESHOLD}, codice di deontologia Sistan; {pact_label('dati_anonimi')}.")

    by_category = trends.period_change(store, filters, by="category", role=role)
    by_comune = trends.period_change(store, filters, by="pro_com_t", role=role)
    total = by_category.iloc[-1]
    m1, m2, m3 = st.columns(3)
    m1.metric("Delitti nel periodo", total["current_shown"])
    m2.metric("Periodo precedente", total["previous_shown"])
    change_value, change_delta = views.change_metric(total)
    m3.metric(
        "Variazione", change_value, delta=change_delta, delta_color="inverse",
        help="Rispetto al periodo precedente della stessa durata. Un aumento è mostrato in rosso.",
    )

    st.subheader("Andamento nel tempo")
    c1, c2 = st.columns([1, 3])
    freq = c1.radio("Aggregazione", options=list(views.FREQUENCIES), format_func=views.FREQUENCIES.get, horizontal=True,
                    key="trend_freq")
    if freq == "Y":
        c2.caption("Con l'aggregazione annuale gli anni incompleti nel periodo scelto sommano solo i mesi "
                   "presenti (colonna «Mesi» nei valori del grafico).")
    by_breakdown = {by: trends.incident_series(store, filters, by=by, freq=freq, role=role)
                    for by in ("category", "pro_com_t")}
    total_series = trends.incident_series(store, filters, freq=freq, role=role)
    st.altair_chart(views.total_chart(total_series, freq=freq), width="stretch")
    tab_cat, tab_com = st.tabs(["Per categoria", "Per comune"])
    breakdowns = ((tab_cat, "category", "Delitti per categoria"), (tab_com, "pro_com_t", "Delitti per comune"))
    for tab, by, title in breakdowns:
        with tab:
            series = by_breakdown[by]
            st.altair_chart(views.series_chart(series, freq=freq, title=title), width="stretch")
            if not cleared:
                st.caption(PROTECTED_NOTE + " Ogni valore è protetto da solo: le linee non sommano esattamente "
                           "al totale.")
            with st.expander("Valori del grafico"):
                st.dataframe(views.series_table(series, freq=freq), hide_index=True)

    st.subheader("Variazione rispetto al periodo precedente")
    if not window.previous_covered:
        st.info("I dati caricati non coprono il periodo precedente di pari durata: la variazione non è calcolabile. "
                "Scegliere un periodo più breve o più recente nei filtri.")
    tab_cat, tab_com = st.tabs(["Per categoria", "Per comune"])
    with tab_cat:
        st.dataframe(views.change_table(by_category, first_column="Categoria"), hide_index=True,
                     height=views.table_height(len(by_category)))
    with tab_com:
        st.dataframe(views.change_table(by_comune, first_column="Comune"), hide_index=True,
                     height=views.table_height(len(by_comune)))
    st.caption("▲ aumento (rosso), ▼ diminuzione (verde), = variazione inferiore all'1 %.")

# -- provinces: real ISTAT data ---------------------------------------------------------------
st.subheader("Confronto con le altre province")
st.caption("Dati reali ISTAT (DCCV_DELITTIPS): delitti denunciati dalle forze di polizia all'autorità giudiziaria "
           "per 1.000 residenti. Non dipendono dai filtri.")
years = trends.province_years(store)
if not years:
    st.info("La tabella nazionale delle province non è caricata.")
else:
    year = st.selectbox("Anno", options=years[::-1], index=0, key="trend_rank_year")
    ranking = trends.province_ranking(store, year, territory.nuts3)
    if ranking.rank is None:
        st.warning(f"La provincia {territory.name} (NUTS3 {territory.nuts3 or 'non indicato'}) non è nella "
                   f"tabella ISTAT del {year}.")
    else:
        k1, k2, k3, k4 = st.columns(4)
        k1.metric("Posizione", ranking.rank_label, help="1° = tasso più alto d'Italia.")
        k2.metric("Delitti per 1.000 abitanti", views.fmt_dec(ranking.rate, 2))
        k3.metric(views.median_label(ranking.region), views.fmt_dec(ranking.regional_median, 2))
        k4.metric("Mediana nazionale", views.fmt_dec(ranking.national_median, 2))
        st.altair_chart(views.ranking_chart(ranking), width="stretch")
        rates = trends.rate_series(store, territory.nuts3)
        st.altair_chart(views.rate_chart(rates, name=ranking.name, region=ranking.region), width="stretch")
        with st.expander("Posizione negli anni"):
            st.dataframe(views.rates_table(rates, name=ranking.name, region=ranking.region), hide_index=True)

# -- official totals against the dataset ------------------------------------------------------
st.subheader("Totali ufficiali e dati del dataset")
st.caption("I totali ufficiali sono reali (ISTAT; Ministero dell'Interno per categoria). Il dataset della dashboard "
           "è generato e calibrato su di essi quando è dimostrativo: il confronto mostra la calibrazione. Tutta la "
           "provincia, tutte le categorie: non dipende dai filtri.")
official = trends.protect_official(trends.official_vs_dataset(store), role)
if official.empty:
    st.info("Nessun totale ufficiale per questo territorio.")
else:
    st.altair_chart(views.calibration_chart(official), width="stretch")
    totals = views.official_totals(official)
    st.dataframe(totals, hide_index=True, height=views.table_height(len(totals)))
    both = views.official_by_category(official)
    if not both.empty:
        with st.expander("Per categoria (anni con dati ufficiali per categoria)"):
            st.dataframe(both, hide_index=True)
