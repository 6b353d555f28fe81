"""Pact art. 3 on the lighting plan (issue 11): for a role without clearance the plan is computed on
the cell-key protected counts of the hexagons, per crime family, so every derived figure
(prevented incidents of each intervention, of each comune, of the plan and of every frontier
budget) is published as a number with its range and reveals nothing the protected counts do not.
A plan on exact counts is refused to such a role instead of being shown with labels; cleared roles
see the exact figures. No "riservato" or "< 3" anywhere in the lighting outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from lighting_store import HEX_A, HEX_C, build_lighting_store

from geo.access import disclosure
from geo.access.privacy import COUNT_LABEL, DERIVED_LABEL
from geo.lighting.costs import CostParams, EnergyParams
from geo.lighting.effects import FAMILIES, EffectModel, family_column
from geo.lighting.need import (
    NeedParams,
    compute_need,
    comune_centres,
    demand_counts,
    lighting_need,
    lighting_state,
    months_between,
    settled_area_km2,
)
from geo.lighting.plan import PlanOptions, build_candidates, frontier, optimise
from geo.lighting.report import (
    ExactFiguresError,
    comune_names,
    effect_sentence,
    options_metadata,
    parameters_table,
    plan_csv,
    plan_geojson,
    plan_table,
    public_by_comune,
    public_frontier,
    public_totals,
    summary_html,
    totals_hidden,
)

BUDGETS = (500.0, 3_000.0, 50_000.0, 200_000.0)
PREVENTED = ("prevented_low", "prevented_central", "prevented_high")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = build_lighting_store(tmp_path_factory.mktemp("lightpriv") / "lighting.duckdb")
    yield s
    s.close()


def _protected_need_by_hand(store, role: str) -> pd.DataFrame:
    """The need table on protected counts built independently of :func:`lighting_need`: each
    family's counts from the store with its key sums, through :func:`disclosure.protect_counts`."""
    res = 9
    total = store.incidents_by_cell(res)
    incidents = pd.DataFrame({"cell": total["cell"], "night_outdoor": disclosure.protect_counts(
        total["night_outdoor"], total["night_outdoor_key"], role)})
    for fam in FAMILIES:
        rows = store.incidents_by_cell(res, categories=list(fam.categories)).set_index("cell")
        protected = pd.Series(disclosure.protect_counts(rows["night_outdoor"], rows["night_outdoor_key"], role),
                              index=rows.index)
        incidents[family_column(fam.key)] = protected.reindex(incidents["cell"]).fillna(0).astype(int).to_numpy()
    context = store.cell_context(res)
    context10 = store.cell_context(10)
    inside = set(context10["cell"])

    def pts(table):
        rows = store.points(table)
        return rows[rows["cell"].isin(inside)]

    start, end = store.period()
    return compute_need(
        context=context, state=lighting_state(pts("lighting"), res), incidents=incidents,
        months=months_between(start, end), settled_km2=settled_area_km2(context10, res), road_km=None,
        demand=demand_counts(pts("reports"), pts("schools"), pts("services"), pts("localities"), res),
        centres=comune_centres(store.points("localities"), store.comuni(), context), params=NeedParams())


def test_protected_need_has_the_published_counts_of_every_family(store):
    exact = lighting_need(store, res=9)
    protected = lighting_need(store, res=9, role="regione")
    assert not exact.attrs["protected"]
    assert protected.attrs["protected"]
    t = disclosure.threshold()
    for fam in FAMILIES:
        col = family_column(fam.key)
        assert not protected[col].between(1, t - 1).any()
        rows = store.incidents_by_cell(9, categories=list(fam.categories)).set_index("cell")
        expected = disclosure.protect_counts(rows["night_outdoor"], rows["night_outdoor_key"], "regione")
        got = protected.set_index("cell")[col].reindex(rows.index).to_numpy()
        assert (got == expected).all(), fam.key
    # the exact table has the true counts: A 5 robberies + 7 vehicle thefts, C 20 damages + 4 assaults
    e = exact.set_index("cell")
    assert (e.loc[HEX_A, family_column("rapine")], e.loc[HEX_A, family_column("furti")]) == (5, 7)
    assert (e.loc[HEX_C, family_column("danneggiamenti")], e.loc[HEX_C, family_column("violenze")]) == (20, 4)
    assert not any(c.endswith("_key") for c in protected.columns)  # key sums are never published


def test_regione_sees_the_effect_of_its_plan_with_its_range_at_every_budget(store):
    """issue 11: numbers with their range for every budget, every comune's share, the totals and the
    frontier; equal to the plan computed on the protected counts."""
    role = "regione"
    need = lighting_need(store, res=9, role=role)
    by_hand = _protected_need_by_hand(store, role)
    cands = build_candidates(need)
    cands_hand = build_candidates(by_hand)
    assert cands.attrs["protected"]
    pd.testing.assert_frame_equal(cands[["id", *PREVENTED]], cands_hand[["id", *PREVENTED]])
    for budget in BUDGETS:
        plan = optimise(cands, PlanOptions(budget=budget))
        assert plan.protected
        assert not totals_hidden(plan, role)
        totals = public_totals(plan, role)
        hand = optimise(cands_hand, PlanOptions(budget=budget)).totals
        assert all(isinstance(totals[k], float) for k in PREVENTED)
        assert [totals[k] for k in PREVENTED] == pytest.approx([hand[k] for k in PREVENTED])
        assert totals["prevented_low"] <= totals["prevented_central"] <= totals["prevented_high"]
        sentence = effect_sentence(totals)
        assert DERIVED_LABEL not in sentence
        assert "intervallo" in sentence
        by = public_by_comune(plan, role)
        for k in PREVENTED:
            assert pd.api.types.is_numeric_dtype(by[k])
            assert by[k].sum() == pytest.approx(totals[k])
        assert (by["prevented_low"] <= by["prevented_central"]).all()
        assert (by["prevented_central"] <= by["prevented_high"]).all()
    front = frontier(cands, PlanOptions(budget=0.0), BUDGETS)
    shown = public_frontier(front, role)
    assert len(shown) == len(BUDGETS)
    assert shown[[*PREVENTED, "marginal_central"]].notna().all().all()
    assert shown["prevented_central"].iloc[-1] > 0
    hand_front = frontier(cands_hand, PlanOptions(budget=0.0), BUDGETS)
    assert shown["prevented_central"].tolist() == pytest.approx(hand_front["prevented_central"].tolist())


def test_cleared_role_gets_the_exact_figures(store):
    exact_need = lighting_need(store, res=9)
    cleared_need = lighting_need(store, res=9, role="prefettura")
    assert not cleared_need.attrs["protected"]
    plan = optimise(build_candidates(cleared_need), PlanOptions(budget=3_000.0))
    exact = optimise(build_candidates(exact_need), PlanOptions(budget=3_000.0))
    assert public_totals(plan, "prefettura") == exact.totals
    # the hand computation of tests/unit/test_lighting_plan.py: A's repair and C's LED
    assert exact.totals["prevented_central"] == pytest.approx(2.17 / 70 + 1.75 * 0.56 / 42)
    by = public_by_comune(plan, "forze_polizia")
    assert by["prevented_central"].sum() == pytest.approx(exact.totals["prevented_central"])


def test_a_plan_on_exact_counts_is_refused_to_a_role_without_clearance(store):
    plan = optimise(build_candidates(lighting_need(store, res=9)), PlanOptions(budget=3_000.0))
    assert totals_hidden(plan, "regione")
    assert not totals_hidden(plan, "prefettura")
    for show in (lambda: public_totals(plan, "regione"), lambda: public_by_comune(plan, "regione"),
                 lambda: plan_table(plan, {}, role="regione"), lambda: plan_csv(plan, {}, role="regione")):
        with pytest.raises(ExactFiguresError):
            show()
    front = frontier(build_candidates(lighting_need(store, res=9)), PlanOptions(budget=0.0), [3_000.0])
    with pytest.raises(ExactFiguresError):
        public_frontier(front, "comune")
    assert public_frontier(front, "forze_polizia") is front


@pytest.mark.parametrize("diffusion", [0.0, 0.5])
def test_no_false_labels_in_the_lighting_outputs_of_the_regione(store, diffusion):
    role = "regione"
    need = lighting_need(store, res=9, role=role)
    effects = EffectModel(diffusion=diffusion)
    cands = build_candidates(need, effects=effects)
    options = PlanOptions(budget=200_000.0)
    plan = optimise(cands, options)
    front = frontier(cands, options, BUDGETS)
    names = comune_names(store.comuni())
    params = parameters_table(CostParams(), EnergyParams(), effects, NeedParams(), need.attrs)
    table = plan_table(plan, names, role=role)
    assert len(table)
    assert all(pd.api.types.is_numeric_dtype(table[c]) for c in (
        "Delitti evitati/anno (basso)", "Delitti evitati/anno (centrale)", "Delitti evitati/anno (alto)",
        "Delitti notturni all'aperto nel periodo"))
    meta = options_metadata(options, {"delitti_evitati_anno": [plan.totals[k] for k in PREVENTED]})
    texts = {
        "csv": plan_csv(plan, names, role=role).decode("utf-8-sig"),
        "geojson": plan_geojson(plan, names, role=role, metadata=meta),
        "html": summary_html(plan, names=names, role=role, options=options, parameters=params, frontier=front),
    }
    for name, text in texts.items():
        assert DERIVED_LABEL not in text, name
        assert COUNT_LABEL not in text, name
        assert "&lt; 3" not in text, name
    gj = json.loads(texts["geojson"])
    assert gj["lanterna"]["delitti_evitati_anno"] == pytest.approx([plan.totals[k] for k in PREVENTED])
    page = texts["html"]
    assert "Effetti per famiglia di reato" in page
    assert "Steinbach" in page
    for r in front.to_dict("records"):
        assert f"<td>{r['prevented_central']:.1f}".replace(".", ",") in page
    small = np.asarray(plan.selected["night_outdoor"])
    assert not ((small >= 1) & (small < disclosure.threshold())).any()
