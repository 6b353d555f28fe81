"""Widgets of the Illuminazione page: the parameters (costs, energy, effects, need) with their
sources, and the plan's constraints. View code only (Streamlit); the parameter objects, their
labels and sources come from :mod:`geo.lighting`."""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from geo.lighting.costs import CostParams, EnergyParams
from geo.lighting.effects import FAMILIES, EffectModel
from geo.lighting.need import BASIS_LABELS, NeedParams, UnderlitRule
from geo.lighting.report import format_percent_value
from geo.lighting.views import candidate_labels

WEIGHT_KEYS = ("w_reports_lighting", "w_reports_other", "w_schools", "w_services", "w_destinations")


@dataclass(frozen=True)
class LightingInputs:
    """Everything the parameter expander sets."""

    costs: CostParams
    energy: EnergyParams
    effects: EffectModel
    rule: UnderlitRule
    outskirts_km: float
    weights: tuple[float, ...]
    lot_size: int


def number(label: str, value: float, key: str, *, source: str, step: float, fmt: str = "%.2f",
           min_value: float = 0.0, max_value: float | None = None) -> float:
    """A number input whose help is the parameter's source (shown again under it)."""
    out = st.number_input(label, min_value=min_value, max_value=max_value, value=value, step=step, format=fmt,
                          key=key, help=source)
    st.caption(f"Fonte: {source}")
    return float(out)


def _cost_tab(costs0: CostParams) -> tuple[dict, int]:
    st.info("Valori indicativi: la Regione deve usare le voci del proprio prezzario regionale dei lavori pubblici.")
    values = {}
    for col, (field, key, step) in zip(st.columns(3), (("repair_eur", "il_c_repair", 10.0),
                                                        ("led_eur", "il_c_led", 10.0),
                                                        ("new_point_eur", "il_c_new", 100.0)), strict=True):
        with col:
            values[field] = number(CostParams.LABELS[field], getattr(costs0, field), key,
                                   source=CostParams.SOURCES[field], step=step, fmt="%.0f")
    lot_size = int(st.number_input("Nuovi punti luce per intervento (lotto)", min_value=0, max_value=500, value=20,
                                   step=5, key="il_lot",
                                   help="I nuovi punti di un esagono sono proposti in lotti di questa dimensione "
                                        "(il lotto 2 solo dopo il lotto 1). 0: un solo intervento per esagono."))
    return values, lot_size


#: Energy fields: (field, widget key, step, format, max), in three columns.
_ENERGY_FIELDS = ((("hours_per_year", "il_e_hours", 100.0, "%.0f", 8760.0), ("led_power_ratio", "il_e_ratio", 0.05,
                                                                              "%.2f", 1.0)),
                  (("eur_per_kwh", "il_e_price", 0.01, "%.3f", None), ("new_point_w", "il_e_neww", 5.0, "%.0f", None)),
                  (("kg_co2_per_kwh", "il_e_co2", 0.01, "%.3f", None),))


def _energy_tab(energy0: EnergyParams) -> dict:
    values = {}
    for col, fields in zip(st.columns(3), _ENERGY_FIELDS, strict=True):
        with col:
            for field, key, step, fmt, top in fields:
                values[field] = number(EnergyParams.LABELS[field], getattr(energy0, field), key,
                                       source=EnergyParams.SOURCES[field], step=step, fmt=fmt, max_value=top)
    return values


def _effect_tab(effects0: EffectModel) -> dict:
    st.markdown("Riduzione relativa dei **delitti notturni all'aperto** di ogni famiglia di reato dove un esagono "
                "riceve l'intervento completo. Contano solo le famiglie con un effetto maggiore di zero; per "
                "impostazione predefinita sono quelle misurate dagli studi. Il valore centrale non va mai letto "
                "senza il suo intervallo; il valore basso 0 vuol dire «nessun effetto», compatibile con le prove.")
    family_values = []
    for fam in FAMILIES:
        st.markdown(f"**{html.escape(fam.label)}** · categorie: {', '.join(fam.categories)}")
        values = []
        for col, bound, title in zip(st.columns(3), ("low", "central", "high"), ("basso", "centrale", "alto"),
                                     strict=True):
            values.append(col.number_input(f"Effetto {title} (%)", min_value=0.0, max_value=100.0,
                                           value=float(getattr(fam, bound)) * 100, step=1.0, format="%.0f",
                                           key=f"il_f_{fam.key}_{bound}", help=fam.source) / 100)
        st.caption(f"Fonte: {fam.source}")
        family_values.append((fam.key, *values))
    counted = [f"{html.escape(f.label)} ({format_percent_value(c)})"
               for f, (_, _, c, h) in zip(FAMILIES, family_values, strict=True) if h > 0]
    st.caption("Contano nel piano: " + (", ".join(counted) or "nessuna famiglia") + ".")
    values = {"families": tuple(family_values)}
    for col, (field, key, step) in zip(st.columns(3), (("repair_lit", "il_f_replit", 0.05), ("led", "il_f_led", 0.05),
                                                        ("diffusion", "il_f_diff", 0.1)), strict=True):
        with col:
            values[field] = number(EffectModel.LABELS[field], getattr(effects0, field), key,
                                   source=EffectModel.SOURCES[field], step=step, max_value=1.0)
    return values


def _need_tab(need0: NeedParams) -> tuple[dict, float, tuple[float, ...]]:
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
    weights = []
    for col, key in zip(st.columns(5), WEIGHT_KEYS, strict=True):
        with col:
            weights.append(float(st.number_input(NeedParams.LABELS[key], min_value=0.0, max_value=100.0,
                                                 value=float(getattr(need0, key)), step=0.5, key=f"il_w_{key}")))
    rule = {"basis": basis, "target": target, "underlit_below": below, "min_points": min_points}
    return rule, float(outskirts_km), tuple(weights)


def parameter_controls() -> LightingInputs:
    """The parameter expander; stops the page with an Italian message on an invalid combination."""
    costs0, energy0, effects0, need0 = CostParams(), EnergyParams(), EffectModel(), NeedParams()
    with st.expander("Parametri: costi, energia, effetti, fabbisogno (con le fonti)", icon=":material/tune:"):
        t_cost, t_energy, t_effect, t_need = st.tabs(["Costi unitari", "Energia", "Effetti", "Fabbisogno e domanda"])
        with t_cost:
            cost_values, lot_size = _cost_tab(costs0)
        with t_energy:
            energy_values = _energy_tab(energy0)
        with t_effect:
            effect_values = _effect_tab(effects0)
        with t_need:
            rule_values, outskirts_km, weights = _need_tab(need0)
    try:
        return LightingInputs(costs=CostParams(**cost_values), energy=EnergyParams(**energy_values),
                              effects=EffectModel(**effect_values), rule=UnderlitRule(**rule_values),
                              outskirts_km=outskirts_km, weights=weights, lot_size=lot_size)
    except ValueError as exc:
        st.error(str(exc))
        st.stop()


def constraint_controls(candidates: pd.DataFrame, names: dict[str, str]) -> tuple[float, float, list, list]:
    """Shares per comune and forced / excluded interventions: (min share, max share, in, out)."""
    with st.expander("Vincoli: quote per comune, interventi imposti o esclusi", icon=":material/balance:"):
        c1, c2 = st.columns(2)
        min_share = c1.number_input("Quota minima per comune (% del costo del piano)", min_value=0.0,
                                    max_value=100.0, value=0.0, step=1.0, format="%.0f", key="il_min_share",
                                    help="Ogni comune con interventi possibili riceve almeno questa quota del piano "
                                         "(equità tra comuni).") / 100
        max_share = c2.number_input("Quota massima per comune (% del costo del piano)", min_value=1.0,
                                    max_value=100.0, value=100.0, step=1.0, format="%.0f", key="il_max_share",
                                    help="Nessun comune riceve più di questa quota del piano.") / 100
        ids = candidates["id"].tolist()
        labels = candidate_labels(candidates, names)
        force_in = st.multiselect("Interventi imposti", options=ids, format_func=labels.get, key="il_force_in",
                                  placeholder="Nessuno", help="Il piano li include comunque.")
        force_out = st.multiselect("Interventi esclusi", options=[i for i in ids if i not in set(force_in)],
                                   format_func=labels.get, key="il_force_out", placeholder="Nessuno",
                                   help="Il piano non li include.")
    return float(min_share), float(max_share), force_in, force_out


RES_LABELS = {8: "risoluzione 8 (≈ 0,74 km²)", 9: "risoluzione 9 (≈ 0,11 km²)", 10: "risoluzione 10 (≈ 0,015 km²)"}


def top_controls(has_comuni: bool, default_budget: float) -> tuple[float, int, bool, float]:
    """Budget, plan resolution (10 only with chosen comuni), outskirts only, perceived-safety weight."""
    top1, top2, top3, top4 = st.columns([1.4, 1.1, 1.1, 1.0])
    budget = top1.number_input("Budget (€)", min_value=0.0, max_value=1e9, value=default_budget, step=50_000.0,
                               format="%.0f", key="il_budget",
                               help="Somma che la Regione destina al programma. Il piano ottimo si ricalcola a "
                                    "ogni modifica.")
    plan_res = top2.selectbox("Esagoni del piano", options=[9, 8, 10] if has_comuni else [9, 8], key="il_res",
                              format_func=RES_LABELS.get,
                              help="Gli interventi sono decisi per esagono. La risoluzione 10 è disponibile "
                                   "scegliendo dei comuni.")
    outskirts_only = top3.toggle("Solo periferie", key="il_outskirts",
                                 help="Solo interventi negli esagoni oltre la distanza di periferia dal centro del "
                                      "comune (art. 5: programmi per le periferie).")
    perceived_weight = top4.number_input(
        "Peso sicurezza percepita", min_value=0.0, max_value=10.0, value=0.0, step=0.01, format="%.3f",
        key="il_perceived",
        help="Delitti equivalenti per punto di domanda percepita (segnalazioni di illuminazione guasta e di degrado, "
             "scuole, servizi, luoghi frequentati di sera). 0: conta solo i delitti evitati.")
    return float(budget), int(plan_res), bool(outskirts_only), float(perceived_weight)
