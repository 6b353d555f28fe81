"""Illuminazione: the lighting investment planner for the Regione (pact art. 5).

A thin view over :mod:`geo.lighting.need` (need per hexagon), :mod:`geo.lighting.plan` (candidates,
exact optimal plan, frontier) and :mod:`geo.lighting.report` (table, exports, summary). Need,
candidates, frontier and the need layer of the map are cached on plain keys (database path,
data version, filter fields, parameter tuples), so a budget change only re-solves the plan
(one HiGHS run) and redraws the plan layer.
"""

from __future__ import annotations

import html
import math

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.access.privacy import ROLES, can_see_exact, format_decimal, format_int
from geo.data.storage import open_store
from geo.data.territory import DEFAULT_PACT, TerritoryError, territory_of_store
from geo.lighting import views
from geo.lighting.costs import CostParams, EnergyParams
from geo.lighting.effects import FAMILIES, STUDIES, EffectModel
from geo.lighting.need import BASIS_LABELS, NeedParams, UnderlitRule, lighting_need
from geo.lighting.plan import KINDS, PlanError, PlanOptions, build_candidates, frontier, frontier_budgets, optimise
from geo.lighting.report import (
    citations_html,
    comune_names,
    coverage_sentence,
    effect_sentence,
    energy_sentence,
    family_table,
    format_percent_value,
    options_metadata,
    parameters_table,
    plan_csv,
    plan_geojson,
    plan_table,
    pool_coverage,
    privacy_note,
    public_by_comune,
    public_frontier,
    public_totals,
    summary_html,
)
from geo.lighting.views import BASIS_UNITS, MAX_NEED_CELLS, NEED_METRICS, build_need_map, frontier_chart, plan_layer
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

#: Leaflet served by Streamlit's static file serving (as on the map page): the map works offline.
LEAFLET_URL = "../../app/static/vendor/leaflet"
DEFAULT_BUDGET = 1_000_000.0
DEFAULT_FRONTIER_MAX = 3_000_000.0


# --------------------------------------------------------------------------------------------
# Cached computations (plain keys only)
# --------------------------------------------------------------------------------------------

def _need_params(rule_key: tuple, outskirts_km: float, weights: tuple) -> NeedParams:
    basis, target, below, min_points = rule_key
    w_rl, w_ro, w_s, w_v, w_d = weights
    return NeedParams(rule=UnderlitRule(basis=basis, target=target, underlit_below=below, min_points=min_points),
                      outskirts_km=outskirts_km, w_reports_lighting=w_rl, w_reports_other=w_ro, w_schools=w_s,
                      w_services=w_v, w_destinations=w_d)


@st.cache_data(show_spinner="Calcolo del fabbisogno di illuminazione per esagono…", max_entries=16)
def load_need(db: str, version: str, cleared: bool, res: int, comuni: tuple[str, ...], start, end,
              categories: tuple[str, ...], rule_key: tuple, outskirts_km: float, weights: tuple) -> pd.DataFrame:
    """The need table; for roles without clearance on protected incident counts (the plan, its
    effects and the frontier then derive only from published figures)."""
    del version  # part of the cache key only
    need = lighting_need(open_store(db), res=res, comuni=comuni, start=start, end=end,
                         categories=categories or None, params=_need_params(rule_key, outskirts_km, weights),
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


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def _share_value(value):
    return dict(value) if isinstance(value, tuple) else value


def number(label: str, value: float, key: str, *, source: str, step: float, fmt: str = "%.2f",
           min_value: float = 0.0, max_value: float | None = None) -> float:
    """A number input whose help is the parameter's source (shown again under it)."""
    out = st.number_input(label, min_value=min_value, max_value=max_value, value=value, step=step, format=fmt,
                          key=key, help=source)
    st.caption(f"Fonte: {source}")
    return float(out)


# --------------------------------------------------------------------------------------------
# Page
# --------------------------------------------------------------------------------------------

require_page("plan_lighting")  # the Regione, the Prefettura and the police forces (geo.access.permissions)
store = get_store()
st.title("Illuminazione – piano di investimento")
try:
    _prices = territory_of_store(store).pact["price_list"]
except TerritoryError:
    _prices = DEFAULT_PACT["price_list"]
st.caption(
    f"{pact_label('illuminazione')}: la Regione finanzia programmi di illuminazione delle periferie secondo le "
    "indicazioni del CPOSP, anche per la sicurezza percepita dei residenti. Lanterna propone il piano migliore per "
    "un budget, con l'effetto atteso e il suo intervallo, e le ragioni di ogni scelta. Costi unitari indicativi: "
    f"sostituirli con le voci del {_prices.removeprefix('il ')}."
)
demo_notice(store)
filters = sidebar_filters(store)
role = current_role()
cleared = can_see_exact(role)
db, version = str(store.path), metrics.data_version(store)
names = comune_names(store.comuni())

top1, top2, top3, top4 = st.columns([1.4, 1.1, 1.1, 1.0])
budget = float(top1.number_input("Budget (€)", min_value=0.0, max_value=1e9, value=DEFAULT_BUDGET, step=50_000.0,
                                 format="%.0f", key="il_budget",
                                 help="Somma che la Regione destina al programma. Il piano ottimo si ricalcola a ogni "
                                      "modifica."))
res_options = [9, 8, 10] if filters.comuni else [9, 8]
plan_res = top2.selectbox("Esagoni del piano", options=res_options, key="il_res",
                          format_func=lambda r: {8: "risoluzione 8 (≈ 0,74 km²)", 9: "risoluzione 9 (≈ 0,11 km²)",
                                                 10: "risoluzione 10 (≈ 0,015 km²)"}[r],
                          help="Gli interventi sono decisi per esagono. La risoluzione 10 è disponibile scegliendo dei "
                               "comuni.")
outskirts_only = top3.toggle("Solo periferie", key="il_outskirts",
                             help="Solo interventi negli esagoni oltre la distanza di periferia dal centro del comune "
                                  "(art. 5: programmi per le periferie).")
perceived_weight = top4.number_input(
    "Peso sicurezza percepita", min_value=0.0, max_value=10.0, value=0.0, step=0.01, format="%.3f",
    key="il_perceived",
    help="Delitti equivalenti per punto di domanda percepita (segnalazioni di illuminazione guasta e di degrado, "
         "scuole, servizi, luoghi frequentati di sera). 0: conta solo i delitti evitati.")

costs0, energy0, effects0, need0 = CostParams(), EnergyParams(), EffectModel(), NeedParams()
with st.expander("Parametri: costi, energia, effetti, fabbisogno (con le fonti)", icon=":material/tune:"):
    t_cost, t_energy, t_effect, t_need = st.tabs(["Costi unitari", "Energia", "Effetti", "Fabbisogno e domanda"])
    with t_cost:
        st.info("Valori indicativi: la Regione deve usare le voci del proprio prezzario regionale dei lavori pubblici.")
        c1, c2, c3 = st.columns(3)
        with c1:
            repair = number(CostParams.LABELS["repair_eur"], costs0.repair_eur, "il_c_repair",
                            source=CostParams.SOURCES["repair_eur"], step=10.0, fmt="%.0f")
        with c2:
            led = number(CostParams.LABELS["led_eur"], costs0.led_eur, "il_c_led", source=CostParams.SOURCES["led_eur"],
                         step=10.0, fmt="%.0f")
        with c3:
            new_point = number(CostParams.LABELS["new_point_eur"], costs0.new_point_eur, "il_c_new",
                               source=CostParams.SOURCES["new_point_eur"], step=100.0, fmt="%.0f")
        lot_size = int(st.number_input("Nuovi punti luce per intervento (lotto)", min_value=0, max_value=500, value=20,
                                       step=5, key="il_lot",
                                       help="I nuovi punti di un esagono sono proposti in lotti di questa dimensione "
                                            "(il lotto 2 solo dopo il lotto 1). 0: un solo intervento per esagono."))
    with t_energy:
        c1, c2, c3 = st.columns(3)
        with c1:
            hours = number(EnergyParams.LABELS["hours_per_year"], energy0.hours_per_year, "il_e_hours",
                           source=EnergyParams.SOURCES["hours_per_year"], step=100.0, fmt="%.0f", max_value=8760.0)
            ratio = number(EnergyParams.LABELS["led_power_ratio"], energy0.led_power_ratio, "il_e_ratio",
                           source=EnergyParams.SOURCES["led_power_ratio"], step=0.05, max_value=1.0)
        with c2:
            price = number(EnergyParams.LABELS["eur_per_kwh"], energy0.eur_per_kwh, "il_e_price",
                           source=EnergyParams.SOURCES["eur_per_kwh"], step=0.01, fmt="%.3f")
            new_w = number(EnergyParams.LABELS["new_point_w"], energy0.new_point_w, "il_e_neww",
                           source=EnergyParams.SOURCES["new_point_w"], step=5.0, fmt="%.0f")
        with c3:
            co2 = number(EnergyParams.LABELS["kg_co2_per_kwh"], energy0.kg_co2_per_kwh, "il_e_co2",
                         source=EnergyParams.SOURCES["kg_co2_per_kwh"], step=0.01, fmt="%.3f")
    with t_effect:
        st.markdown("Riduzione relativa dei **delitti notturni all'aperto** di ogni famiglia di reato dove un esagono "
                    "riceve l'intervento completo. Contano solo le famiglie con un effetto maggiore di zero; per "
                    "impostazione predefinita sono quelle misurate dagli studi. Il valore centrale non va mai letto "
                    "senza il suo intervallo; il valore basso 0 vuol dire «nessun effetto», compatibile con le "
                    "prove.")
        family_values = []
        for fam in FAMILIES:
            st.markdown(f"**{html.escape(fam.label)}** · categorie: {', '.join(fam.categories)}")
            f1, f2, f3 = st.columns(3)
            values = []
            for col, bound, title in ((f1, "low", "basso"), (f2, "central", "centrale"), (f3, "high", "alto")):
                values.append(col.number_input(f"Effetto {title} (%)", min_value=0.0, max_value=100.0,
                                               value=float(getattr(fam, bound)) * 100, step=1.0, format="%.0f",
                                               key=f"il_f_{fam.key}_{bound}", help=fam.source) / 100)
            st.caption(f"Fonte: {fam.source}")
            family_values.append((fam.key, *values))
        st.caption("Contano nel piano: " + (", ".join(f"{html.escape(f.label)} ({format_percent_value(c)})"
                                                      for f, (_, _, c, h) in zip(FAMILIES, family_values, strict=True)
                                                      if h > 0) or "nessuna famiglia") + ".")
        c1, c2, c3 = st.columns(3)
        with c1:
            w_lit = number(EffectModel.LABELS["repair_lit"], effects0.repair_lit, "il_f_replit",
                           source=EffectModel.SOURCES["repair_lit"], step=0.05, max_value=1.0)
        with c2:
            w_led = number(EffectModel.LABELS["led"], effects0.led, "il_f_led", source=EffectModel.SOURCES["led"],
                           step=0.05, max_value=1.0)
        with c3:
            diffusion = number(EffectModel.LABELS["diffusion"], effects0.diffusion, "il_f_diff",
                               source=EffectModel.SOURCES["diffusion"], step=0.1, max_value=1.0)
    with t_need:
        c1, c2, c3 = st.columns(3)
        with c1:
            basis = st.selectbox(UnderlitRule.LABELS["basis"], options=["auto", "residenti", "strade", "area"],
                                 key="il_n_basis",
                                 format_func=lambda b: "automatica (strade se caricate, altrimenti residenti)"
                                 if b == "auto" else BASIS_LABELS[b],
                                 help="Rispetto a cosa si misura la densità di punti luce.")
            fixed = st.toggle("Obiettivo fisso (invece del confronto con i centri)", key="il_n_fixed",
                              help="Predefinito: ogni esagono è confrontato con gli esagoni dei centri di pari "
                                   "dimensione. Con l'obiettivo fisso vale una densità unica.")
            target = (st.number_input(UnderlitRule.LABELS["target"], min_value=0.1, value=30.0, step=1.0,
                                      key="il_n_target", help="Es. 30 punti per km di strada (uno ogni 33 m circa).")
                      if fixed else None)
        with c2:
            below = number(UnderlitRule.LABELS["underlit_below"], need0.rule.underlit_below, "il_n_below",
                           source="Quota dell'obiettivo sotto la quale un esagono è sottoilluminato.", step=0.05,
                           min_value=0.05, max_value=1.0)
            min_points = number(UnderlitRule.LABELS["min_points"], need0.rule.min_points, "il_n_minpts",
                                source="Sotto questo numero di punti attesi le differenze sono casuali.", step=1.0,
                                fmt="%.0f")
        with c3:
            outskirts_km = number(NeedParams.LABELS["outskirts_km"], need0.outskirts_km, "il_n_km",
                                  source="Distanza dal centro del comune (località capoluogo o sede comunale).",
                                  step=0.25, max_value=50.0)
        st.markdown("**Punti di domanda di sicurezza percepita** (usati con un peso maggiore di zero):")
        w_cols = st.columns(5)
        weights = []
        for col, key in zip(w_cols, ("w_reports_lighting", "w_reports_other", "w_schools", "w_services",
                                     "w_destinations"), strict=True):
            with col:
                weights.append(float(st.number_input(NeedParams.LABELS[key], min_value=0.0, max_value=100.0,
                                                     value=float(getattr(need0, key)), step=0.5,
                                                     key=f"il_w_{key}")))

try:
    costs = CostParams(repair_eur=repair, led_eur=led, new_point_eur=new_point)
    energy = EnergyParams(hours_per_year=hours, eur_per_kwh=price, kg_co2_per_kwh=co2, led_power_ratio=ratio,
                          new_point_w=new_w)
    effects = EffectModel(families=tuple(family_values), repair_lit=w_lit, led=w_led, diffusion=diffusion)
    rule = UnderlitRule(basis=basis, target=target, underlit_below=below, min_points=min_points)
except ValueError as exc:
    st.error(str(exc))
    st.stop()

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

with st.expander("Vincoli: quote per comune, interventi imposti o esclusi", icon=":material/balance:"):
    c1, c2 = st.columns(2)
    min_share = c1.number_input("Quota minima per comune (% del costo del piano)", min_value=0.0, max_value=100.0,
                                value=0.0, step=1.0, format="%.0f", key="il_min_share",
                                help="Ogni comune con interventi possibili riceve almeno questa quota del piano "
                                     "(equità tra comuni).") / 100
    max_share = c2.number_input("Quota massima per comune (% del costo del piano)", min_value=1.0, max_value=100.0,
                                value=100.0, step=1.0, format="%.0f", key="il_max_share",
                                help="Nessun comune riceve più di questa quota del piano.") / 100
    ids = candidates["id"].tolist()
    labels = dict(zip(candidates["id"], [
        f"{names.get(c, c)} · {KINDS[k]} · {p} punti · {format_int(v)} € · {i}"
        for c, k, p, v, i in zip(candidates["pro_com_t"], candidates["kind"], candidates["points"],
                                 candidates["cost_eur"], candidates["id"], strict=True)], strict=True))
    force_in = st.multiselect("Interventi imposti", options=ids, format_func=labels.get, key="il_force_in",
                              placeholder="Nessuno", help="Il piano li include comunque.")
    force_out = st.multiselect("Interventi esclusi", options=[i for i in ids if i not in set(force_in)],
                               format_func=labels.get, key="il_force_out", placeholder="Nessuno",
                               help="Il piano non li include.")

try:
    options = PlanOptions(budget=budget, perceived_weight=float(perceived_weight), min_share=float(min_share),
                          max_share=float(max_share), force_in=tuple(force_in), force_out=tuple(force_out),
                          outskirts_only=bool(outskirts_only))
    plan = optimise(candidates, options)
except PlanError as exc:
    st.error(str(exc))
    st.stop()
totals = plan.totals
shown_totals = public_totals(plan, role)  # on protected counts for a role without clearance
attrs = need.attrs
coverage = pool_coverage(effects, need)

start, end = filters.start, filters.end
period_text = f"{month_label(start)} – {month_label(end)}" if start and end else "tutto il periodo disponibile"
st.caption(
    f"Delitti notturni all'aperto di **{period_text}**, espressi per anno · esagoni H3 di risoluzione {plan_res} · "
    f"{format_int(len(need))} esagoni, {format_int(int(need['under_lit'].sum()))} sottoilluminati, "
    f"{format_int(len(candidates))} interventi possibili · ruolo *{html.escape(ROLES.get(role, role))}*"
)
st.caption(privacy_note(role))

k1, k2, k3, k4 = st.columns(4)
k1.metric("Costo del piano", f"{format_int(totals['cost_eur'])} €",
          help=f"{totals['interventions']} interventi su un budget di {format_int(budget)} €.", border=True)
low_high = f"{format_decimal(shown_totals['prevented_low'], 1)}–{format_decimal(shown_totals['prevented_high'], 1)}"
k2.metric("Delitti evitati all'anno", f"{format_decimal(shown_totals['prevented_central'], 1)}",
          delta=f"intervallo {low_high}", delta_color="off", delta_arrow="off", border=True,
          help="Somma sulle famiglie di reato di quota × effetto × delitti notturni all'aperto: valore centrale con "
               "l'intervallo basso (nessun effetto, Steinbach et al. 2015) – alto (Chalfin et al. 2022). Mai il "
               "valore centrale senza il suo intervallo." + ("" if cleared else " Calcolati dai conteggi protetti."))
k3.metric("Energia risparmiata all'anno", f"{format_decimal(totals['net_kwh_saved'] / 1000, 1)} MWh",
          delta=f"{format_int(totals['net_eur_saved'])} €/anno · "
                f"{format_decimal(totals['net_co2_saved_kg'] / 1000, 1)} t CO₂", delta_color="off", delta_arrow="off",
          border=True,
          help="Saldo: risparmio delle sostituzioni LED meno il consumo di riparazioni e nuovi punti luce.")
payback = totals["led_payback_years"]
k4.metric("Ritorno LED", "–" if not math.isfinite(payback) else f"{format_decimal(payback, 1)} anni",
          help="Costo delle sostituzioni LED diviso il risparmio annuo in bolletta (ritorno semplice).", border=True)
st.markdown(f"**Effetto atteso.** {effect_sentence(shown_totals)} {coverage_sentence(coverage)}  \n"
            f"**Energia.** {energy_sentence(totals)}")
if not cleared:
    st.caption("Il piano è scelto sui conteggi protetti: dove un conteggio piccolo è pubblicato più alto del vero il "
               "piano tende a sceglierlo, quindi l'effetto mostrato tende a essere ottimista, tanto più quanto è breve "
               "il periodo, perché più conteggi per famiglia sono piccoli. L'intervallo basso–alto resta la guida.")
for note in plan.warnings:
    st.warning(note)
if plan.selected.empty:
    st.info("Nessun intervento nel piano: con questi dati, filtri e vincoli nessun intervento possibile ha un "
            "beneficio atteso, oppure il budget non basta per il più economico.")

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
    m = build_need_map(data, load_comuni_geometries(db, version), tiles, assets_url=LEAFLET_URL)
    st_folium(m, key="illuminazione_map", height=580, use_container_width=True, returned_objects=[],
              feature_group_to_add=plan_layer(plan, names))
    note = f"{format_int(data['cells'])} esagoni disegnati"
    if data["truncated"]:
        note += f" (i {format_int(MAX_NEED_CELLS)} con più delitti evitabili)"
    st.caption(note + ". Passare sopra un esagono per i dettagli; gli esagoni con il contorno nero sono nel piano.")

with tab_plan:
    st.subheader("Interventi in ordine di resa")
    st.caption("Ordinati per delitti evitati (più la sicurezza percepita pesata) per euro: il costo cumulato dice "
               "fin dove arriva ogni budget. Energia negativa: consumo in più (riparazioni, nuovi punti).")
    table = plan_table(plan, names, role=role)
    st.dataframe(table, hide_index=True, width="stretch", key="il_table", height=420,
                 column_config={"Costo (€)": st.column_config.NumberColumn(format="localized"),
                                "Costo cumulato (€)": st.column_config.NumberColumn(format="localized")})
    by = public_by_comune(plan, role).assign(Comune=lambda d: d["pro_com_t"].map(lambda c: names.get(c, c)))
    if len(by):
        st.markdown("**Ripartizione per comune**")
        by = by.assign(**{c: by[c].astype(float).round(2) for c in ("prevented_low", "prevented_central",
                                                                     "prevented_high")})
        st.dataframe(by[["Comune", "cost_eur", "share", "interventions", "prevented_central", "prevented_low",
                         "prevented_high"]].rename(columns={
            "cost_eur": "Costo (€)", "share": "Quota del piano", "interventions": "Interventi",
            "prevented_central": "Delitti evitati/anno (centrale)", "prevented_low": "Delitti evitati/anno (basso)",
            "prevented_high": "Delitti evitati/anno (alto)"}), hide_index=True, key="il_by_comune",
            column_config={"Quota del piano": st.column_config.NumberColumn(format="percent"),
                           "Costo (€)": st.column_config.NumberColumn(format="localized")})
    params = parameters_table(costs, energy, effects, _need_params(rule_key, float(outskirts_km), tuple(weights)),
                              attrs)
    context = {"territory": store.get_meta("territory_name", ""), "res": plan_res,
               "comuni": ", ".join(names.get(c, c) for c in filters.comuni) or "tutto il territorio",
               "period": period_text, "demo": store.get_meta("demo") == "true"}
    meta = options_metadata(options, {"risoluzione_h3": plan_res, "periodo": period_text,
                                      "delitti_evitati_anno": [shown_totals["prevented_low"],
                                                               shown_totals["prevented_central"],
                                                               shown_totals["prevented_high"]],
                                      "effetti_per_famiglia": {k: list(v) for k, v in effects.range.items()},
                                      "costo_piano_eur": totals["cost_eur"]})

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
        front_shown = public_frontier(front, role)  # on protected counts for a role without clearance
        st.altair_chart(frontier_chart(front_shown, budget, shown_totals), width="stretch")
        step = front["budget_eur"].diff().dropna()
        step_text = format_int(step.iloc[0]) if len(step) else "–"
        st.caption(f"Banda: intervallo basso–alto; linea: valore centrale; linea rossa: budget scelto. Ogni punto è un "
                   f"piano ottimo (passi di {step_text} €) con gli stessi vincoli.")
        shown_cols = ["prevented_low", "prevented_central", "prevented_high", "marginal_central"]
        values = {c: front_shown[c].astype(float).round(2) for c in shown_cols}
        show = front_shown.assign(**{
            "Budget (€)": front_shown["budget_eur"], "Delitti evitati/anno (basso)": values["prevented_low"],
            "Delitti evitati/anno (centrale)": values["prevented_central"],
            "Delitti evitati/anno (alto)": values["prevented_high"],
            "In più rispetto al passo precedente (centrale)": values["marginal_central"],
            "Interventi": front_shown["interventions"]})
        st.dataframe(show[["Budget (€)", "Delitti evitati/anno (basso)", "Delitti evitati/anno (centrale)",
                           "Delitti evitati/anno (alto)", "In più rispetto al passo precedente (centrale)",
                           "Interventi"]], hide_index=True, key="il_front_table",
                     column_config={"Budget (€)": st.column_config.NumberColumn(format="localized")})

with tab_plan:  # the exports come after the frontier, which the printable summary includes
    st.subheader("Esportazioni")
    d1, d2, d3 = st.columns(3)
    d1.download_button("Piano CSV", icon=":material/download:",
                       data=anchored(lambda: plan_csv(plan, names, role=role), "csv"),
                       file_name="piano_illuminazione.csv", mime="text/csv", key="il_csv",
                       help="UTF-8 con BOM, separatore ';' e virgola decimale (Excel in italiano).")
    d2.download_button("Piano GeoJSON", icon=":material/download:",
                       data=anchored(lambda: plan_geojson(plan, names, role=role, metadata=meta), "geojson"),
                       file_name="piano_illuminazione.geojson", mime="application/geo+json", key="il_geojson")
    d3.download_button("Riepilogo per il CPOSP (HTML)", icon=":material/print:",
                       data=anchored(lambda: summary_html(plan, names=names, role=role, options=options,
                                                          parameters=params, frontier=front, context=context), "html"),
                       file_name="piano_illuminazione_riepilogo.html", mime="text/html", key="il_html",
                       help="Aprire il file nel browser e stampare in PDF: piano, effetto con intervallo, energia, "
                            "parametri e citazioni.")

with tab_method:
    st.markdown(
        f"**Fabbisogno.** Per ogni esagono: punti luce, guasti, tecnologie vecchie; densità in "
        f"{html.escape(attrs['basis_label'])}. Obiettivo: {format_decimal(attrs['target_scale'], 2)} × "
        f"({BASIS_UNITS[attrs['basis']]})^{format_decimal(attrs['target_exponent'], 2)} punti luce "
        f"({html.escape(attrs['target_source'])}); "
        f"un esagono è **sottoilluminato** se ha meno del {format_decimal(attrs['underlit_below'] * 100, 0)} % "
        f"dell'obiettivo in punti funzionanti (obiettivo di almeno {format_decimal(attrs['min_points'], 0)} punti). "
        "I nuovi punti luce lo riportano all'obiettivo.  \n"
        "**Effetto.** La quota di un esagono che migliora è (punti migliorati × peso del tipo) / punti dopo "
        "l'intervento; i delitti evitati sono la somma, sulle famiglie di reato, di quota × effetto della famiglia × "
        "delitti notturni all'aperto della famiglia all'anno (più, se attivata, la diffusione ai vicini). Le tre "
        "quote di un esagono sommano al più a 1.  \n"
        "**Piano.** Programmazione lineare intera 0-1 risolta in modo **esatto** con HiGHS (scipy): massimizza i "
        "delitti evitati attesi (valore centrale) più il peso × la domanda percepita, entro il budget, le quote per "
        "comune (del costo del piano) e gli interventi imposti o esclusi."
    )
    st.table(parameters_table(costs, energy, effects, _need_params(rule_key, float(outskirts_km), tuple(weights)),
                              attrs).set_index("Gruppo"))
    st.markdown(f"**Effetti per famiglia di reato.** {coverage_sentence(coverage)}")
    st.dataframe(family_table(effects, need), hide_index=True, key="il_families")
    st.markdown("**Prove sull'effetto dell'illuminazione**")
    st.html(citations_html())
    st.caption(f"{len(STUDIES)} studi citati. Il valore basso 0 («nessun effetto») viene da Steinbach et al. 2015, "
               "che non trovano associazione tra variazioni dell'illuminazione e reati.")
