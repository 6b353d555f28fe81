"""Illuminazione: the lighting investment planner for the Regione (pact art. 5).

A thin view over :mod:`geo.lighting.need` (need per hexagon), :mod:`geo.lighting.plan` (candidates,
exact optimal plan, frontier) and :mod:`geo.lighting.report` (table, exports, summary). Need,
candidates, frontier and the need layer of the map are cached on plain keys (database path,
data version, filter fields, parameter tuples), so a budget change only re-solves the plan
(one HiGHS run) and redraws the plan layer.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.access.privacy import ROLES, can_see_exact
from geo.data.storage import open_store
from geo.data.territory import DEFAULT_PACT, TerritoryError, territory_of_store
from geo.lighting import report, views
from geo.lighting.costs import CostParams, EnergyParams
from geo.lighting.effects import STUDIES, EffectModel
from geo.lighting.need import lighting_need
from geo.lighting.plan import PlanError, PlanOptions, build_candidates, frontier, frontier_budgets, optimise
from geo.lighting.views import NEED_METRICS, build_need_map, frontier_chart, need_params, plan_layer
from geo.maps.layers import LEAFLET_APP_URL, fit_to_comuni
from geo.overview import metrics
from pages.common import (
    anchored,
    current_role,
    demo_notice,
    get_store,
    month_label,
    pact_label,
    require_page,
    sidebar_filters,
)
from pages.intervention_start import start_from_plan
from pages.lighting_controls import constraint_controls, parameter_controls, top_controls

DEFAULT_BUDGET = 1_000_000.0
DEFAULT_FRONTIER_MAX = 3_000_000.0


@st.cache_data(show_spinner="Calcolo del fabbisogno di illuminazione per esagono…", max_entries=16)
def load_need(db: str, version: str, cleared: bool, res: int, comuni: tuple[str, ...], start, end,
              categories: tuple[str, ...], rule_key: tuple, outskirts_km: float, weights: tuple) -> pd.DataFrame:
    """The need table; for roles without clearance on protected incident counts (the plan, its
    effects and the frontier then derive only from published figures)."""
    del version  # part of the cache key only
    need = lighting_need(open_store(db), res=res, comuni=comuni, start=start, end=end,
                         categories=categories or None, params=need_params(rule_key, outskirts_km, weights),
                         role=None if cleared else "osservatore")
    return need


@st.cache_data(show_spinner="Preparazione degli interventi possibili…", max_entries=16)
def load_candidates(db: str, version: str, cleared: bool, res: int, comuni: tuple[str, ...], start, end,
                    categories: tuple[str, ...], rule_key: tuple, outskirts_km: float, weights: tuple,
                    costs_key: tuple, effects_key: tuple, energy_key: tuple, lot_size: int) -> pd.DataFrame:
    need = load_need(db, version, cleared, res, comuni, start, end, categories, rule_key, outskirts_km, weights)
    return build_candidates(need, costs=CostParams(*costs_key), effects=EffectModel(*effects_key),
                            energy=EnergyParams(*energy_key), lot_size=lot_size or None)


@st.cache_data(show_spinner="Calcolo della frontiera efficiente (un piano ottimo per ogni budget)…", max_entries=16)
def load_frontier(cand_key: tuple, options_key: tuple, max_budget: float) -> pd.DataFrame:
    """The frontier for the options other than the budget (``PlanOptions.key()[1:]``)."""
    candidates = load_candidates(*cand_key)
    weight, min_share, max_share, force_in, force_out, outskirts = options_key
    options = PlanOptions(budget=0.0, perceived_weight=weight, min_share=_share_value(min_share),
                          max_share=_share_value(max_share), force_in=force_in, force_out=force_out,
                          outskirts_only=outskirts)
    return frontier(candidates, options, frontier_budgets(candidates, max_budget=max_budget))


@st.cache_data(show_spinner=False, max_entries=8)
def load_comuni_geometries(db: str, version: str) -> pd.DataFrame:
    del version
    return open_store(db).comuni_geometries()


@st.cache_data(show_spinner=False, max_entries=16)
def need_layer_data(cand_key: tuple, metric: str, cleared: bool, names_key: tuple) -> dict:
    """The need layer's features, classes and legend (plain data: cached, rebuilt only when the
    need, the metric or the clearance change, never on a budget change)."""
    need = load_need(*cand_key[:11])
    candidates = load_candidates(*cand_key)
    del cleared  # part of the cache key only: the need table already has the role's counts
    return views.need_layer_data(need, candidates, metric, dict(names_key))


def _share_value(value):
    return dict(value) if isinstance(value, tuple) else value


user = require_page("plan_lighting")  # the Regione, the Prefettura and the police forces (geo.access.permissions)
store = get_store()
st.title("Illuminazione – piano di investimento")
try:
    _prices = territory_of_store(store).pact["price_list"]
except TerritoryError:
    _prices = DEFAULT_PACT["price_list"]
st.caption(views.intro_text(pact_label("illuminazione"), _prices))
demo_notice(store)
filters = sidebar_filters(store)
role = current_role()
cleared = can_see_exact(role)
db, version = str(store.path), metrics.data_version(store)
names = report.comune_names(store.comuni())

budget, plan_res, outskirts_only, perceived_weight = top_controls(bool(filters.comuni), DEFAULT_BUDGET)
inputs = parameter_controls()
costs, energy, effects, rule = inputs.costs, inputs.energy, inputs.effects, inputs.rule
outskirts_km, weights, lot_size = inputs.outskirts_km, inputs.weights, inputs.lot_size

rule_key = (rule.basis, rule.target, rule.underlit_below, rule.min_points)
need_key = (db, version, cleared, plan_res, tuple(filters.comuni), filters.start, filters.end,
            tuple(filters.categories), rule_key, float(outskirts_km), tuple(weights))
cand_key = (*need_key, costs.key(), effects.key(), energy.key(), lot_size)
try:
    need = load_need(*need_key)
except ValueError as exc:
    st.error(str(exc))
    st.stop()
candidates = load_candidates(*cand_key)

min_share, max_share, force_in, force_out = constraint_controls(candidates, names)

try:
    options = PlanOptions(budget=budget, perceived_weight=float(perceived_weight), min_share=float(min_share),
                          max_share=float(max_share), force_in=tuple(force_in), force_out=tuple(force_out),
                          outskirts_only=bool(outskirts_only))
    plan = optimise(candidates, options)
except PlanError as exc:
    st.error(str(exc))
    st.stop()
totals = plan.totals
shown_totals = report.public_totals(plan, role)  # on protected counts for a role without clearance
attrs = need.attrs
coverage = report.pool_coverage(effects, need)

start, end = filters.start, filters.end
period_text = f"{month_label(start)} – {month_label(end)}" if start and end else "tutto il periodo disponibile"
st.caption(views.scope_text(period_text, plan_res, need, candidates, ROLES.get(role, role)))
st.caption(report.privacy_note(role))

for col, kpi in zip(st.columns(4), views.kpis(totals, shown_totals, budget, cleared=cleared), strict=True):
    col.metric(kpi["label"], kpi["value"], delta=kpi.get("delta"), delta_color="off", delta_arrow="off",
               help=kpi["help"], border=True)
st.markdown(f"**Effetto atteso.** {report.effect_sentence(shown_totals)} {report.coverage_sentence(coverage)}  \n"
            f"**Energia.** {report.energy_sentence(totals)}")
if not cleared:
    st.caption(views.PROTECTED_PLAN_NOTE)
for note in plan.warnings:
    st.warning(note)
if plan.selected.empty:
    st.info(views.EMPTY_PLAN_NOTE)

start_from_plan(store, user, plan, plan_res, names)  # only for roles that may register interventions

tab_map, tab_plan, tab_front, tab_method = st.tabs(
    [":material/map: Mappa del fabbisogno e del piano", ":material/list_alt: Piano",
     ":material/show_chart: Frontiera efficiente", ":material/menu_book: Metodo, parametri e fonti"])

with tab_map:
    c1, c2 = st.columns([2, 1])
    metric = c1.selectbox("Fabbisogno sulla mappa", options=list(NEED_METRICS), key="il_metric",
                          format_func=lambda m: NEED_METRICS[m][0])
    tiles = c2.radio("Sfondo", options=["osm", "none"], format_func={"osm": "OpenStreetMap",
                                                                      "none": "Nessuno sfondo"}.get,
                     horizontal=True, key="il_tiles",
                     help="Le tessere OpenStreetMap richiedono internet; confini ed esagoni si vedono comunque.")
    data = need_layer_data(cand_key, metric, cleared, tuple(sorted(names.items())))
    m = build_need_map(data, load_comuni_geometries(db, version), tiles, assets_url=LEAFLET_APP_URL)
    st_folium(fit_to_comuni(m, load_comuni_geometries(db, version), filters.comuni), key="illuminazione_map",
              height=580, use_container_width=True, returned_objects=[], feature_group_to_add=plan_layer(plan, names))
    st.caption(views.map_note(data))

with tab_plan:
    st.subheader("Interventi in ordine di resa")
    st.caption("Ordinati per delitti evitati (più la sicurezza percepita pesata) per euro: il costo cumulato dice "
               "fin dove arriva ogni budget. Energia negativa: consumo in più (riparazioni, nuovi punti).")
    table = report.plan_table(plan, names, role=role)
    st.dataframe(table, hide_index=True, width="stretch", key="il_table", height=420,
                 column_config={"Costo (€)": st.column_config.NumberColumn(format="localized"),
                                "Costo cumulato (€)": st.column_config.NumberColumn(format="localized")})
    by = views.by_comune_table(report.public_by_comune(plan, role), names)
    if len(by):
        st.markdown("**Ripartizione per comune**")
        st.dataframe(by, hide_index=True, key="il_by_comune",
                     column_config={"Quota del piano": st.column_config.NumberColumn(format="percent"),
                                    "Costo (€)": st.column_config.NumberColumn(format="localized")})
    params = report.parameters_table(costs, energy, effects, need_params(rule_key, outskirts_km, weights), attrs)
    context = views.export_context(territory=store.get_meta("territory_name", ""), res=plan_res,
                                   comuni=list(filters.comuni), names=names, period=period_text,
                                   demo=store.get_meta("demo") == "true")
    meta = report.options_metadata(options, views.export_metadata(plan_res, period_text, shown_totals, effects,
                                                           totals["cost_eur"]))

with tab_front:
    max_budget = float(st.number_input("Frontiera fino a (€)", min_value=100_000.0, max_value=1e9,
                                       value=DEFAULT_FRONTIER_MAX, step=500_000.0, format="%.0f",
                                       key="il_front_max",
                                       help="Budget massimo della curva; i passi sono di 100.000 € (più larghi se "
                                            "servono più di 40 punti)."))
    front = load_frontier(cand_key, options.key()[1:], max_budget)  # not the budget: a budget change reuses it
    if front.empty:
        st.info("Nessun piano possibile per i budget della frontiera.")
    else:
        front_shown = report.public_frontier(front, role)  # on protected counts for a role without clearance
        st.altair_chart(frontier_chart(front_shown, budget, shown_totals), width="stretch")
        st.caption(views.frontier_caption(front))
        st.dataframe(views.frontier_table(front_shown), hide_index=True, key="il_front_table",
                     column_config={"Budget (€)": st.column_config.NumberColumn(format="localized")})

with tab_plan:  # the exports come after the frontier, which the printable summary includes
    st.subheader("Esportazioni")
    d1, d2, d3 = st.columns(3)
    d1.download_button("Piano CSV", icon=":material/download:",
                       data=anchored(lambda: report.plan_csv(plan, names, role=role), "csv"),
                       file_name="piano_illuminazione.csv", mime="text/csv", key="il_csv",
                       help="UTF-8 con BOM, separatore ';' e virgola decimale (Excel in italiano).")
    d2.download_button("Piano GeoJSON", icon=":material/download:",
                       data=anchored(lambda: report.plan_geojson(plan, names, role=role, metadata=meta), "geojson"),
                       file_name="piano_illuminazione.geojson", mime="application/geo+json", key="il_geojson")
    d3.download_button("Riepilogo per il CPOSP (HTML)", icon=":material/print:",
                       data=anchored(lambda: report.summary_html(plan, names=names, role=role, options=options,
                                                          parameters=params, frontier=front, context=context), "html"),
                       file_name="piano_illuminazione_riepilogo.html", mime="text/html", key="il_html",
                       help="Aprire il file nel browser e stampare in PDF: piano, effetto con intervallo, energia, "
                            "parametri e citazioni.")

with tab_method:
    st.markdown(views.method_markdown(attrs))
    st.table(params.set_index("Gruppo"))
    st.markdown(f"**Effetti per famiglia di reato.** {report.coverage_sentence(coverage)}")
    st.dataframe(report.family_table(effects, need), hide_index=True, key="il_families")
    st.markdown("**Prove sull'effetto dell'illuminazione**")
    st.html(report.citations_html())
    st.caption(f"{len(STUDIES)} {views.CITATIONS_NOTE}")
