"""Pact art. 3 on the lighting plan's totals: a plan containing a hexagon with 1-2 night outdoor
incidents must not give that hexagon's prevented incidents back through its totals (KPI, effect
sentence, per comune, GeoJSON metadata, frontier, HTML summary) to roles without clearance; with
diffusion, neither through a neighbour's values. Cleared roles see the exact figures."""

from __future__ import annotations

import json
import math

import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import pytest

from geo.access.privacy import DERIVED_LABEL, format_decimal
from geo.lighting.effects import EffectModel
from geo.lighting.need import neighbour_sum
from geo.lighting.plan import PlanOptions, build_candidates, frontier, optimise
from geo.lighting.report import (
    effect_sentence,
    hidden_rows,
    options_metadata,
    plan_geojson,
    plan_table,
    public_by_comune,
    public_frontier,
    public_totals,
    summary_html,
    totals_hidden,
)

CENTRE = int(h3n.latlng_to_cell(44.1, 10.1, 9))
#: A (1 incident, alone in comune X), its neighbour N (0 incidents), two far hexagons B and C.
HEX_A = CENTRE
HEX_N = int(h3n.grid_ring(CENTRE, 1)[0])
HEX_B = int(h3n.grid_ring(CENTRE, 5)[0])
HEX_C = int(h3n.grid_ring(CENTRE, 8)[0])
NAMES = {"X": "Comune X", "Y": "Comune Y"}


def _need() -> pd.DataFrame:
    """A hand-made need table: each hexagon has 3 broken modern points (one repair candidate)."""
    cells = np.array([HEX_A, HEX_N, HEX_B, HEX_C], dtype=np.int64)
    incidents = np.array([1, 0, 17, 29])
    months = 12
    year = incidents * 12.0 / months
    return pd.DataFrame({
        "cell": cells, "pro_com_t": ["X", "Y", "Y", "Y"],
        "modern_broken": 3, "old": 0, "old_broken": 0, "new_needed": 0, "points_after": 10,
        "under_lit": False, "night_outdoor": incidents, "night_outdoor_year": year,
        "neighbour_night_outdoor_year": neighbour_sum(cells, year),
        "modern_broken_power_w": 3 * 70.0, "old_power_w": 0.0, "demand_points": 1.0,
        "outskirts": False, "distance_km": 1.0,
    })


def _plan(diffusion: float = 0.0, budget: float = 10_000.0):
    cands = build_candidates(_need(), effects=EffectModel(diffusion=diffusion))
    options = PlanOptions(budget=budget, force_in=(f"{h3n.int_to_str(HEX_A)}-R",))
    return cands, options, optimise(cands, options)


def _numbers(value: float) -> set[str]:
    return {format_decimal(value, d) for d in (1, 2, 3)} | {repr(value), str(round(value, 3))}


def test_forced_small_count_hexagon_does_not_leak_through_totals():
    cands, options, plan = _plan()
    sel = plan.selected
    assert f"{h3n.int_to_str(HEX_A)}-R" in set(sel["id"]) and len(sel) == 3
    secret = float(sel.loc[sel["cell"] == HEX_A, "prevented_central"].iloc[0])
    total = plan.totals["prevented_central"]
    role = "regione"
    assert totals_hidden(plan, role)
    # the plan table hides the row ...
    table = plan_table(plan, NAMES, role=role)
    assert (table["Delitti evitati/anno (centrale)"] == [DERIVED_LABEL if c == HEX_A else format_decimal(v, 3)
                                                         for c, v in zip(sel["cell"], sel["prevented_central"],
                                                                         strict=True)]).all()
    # ... and no total gives it back: KPI/effect sentence, per comune, GeoJSON metadata, frontier
    shown = public_totals(plan, role)
    assert all(shown[k] is None for k in ("prevented_low", "prevented_central", "prevented_high", "objective"))
    assert shown["cost_eur"] == plan.totals["cost_eur"] and shown["interventions"] == 3  # costs stay visible
    sentence = effect_sentence(plan.totals, hidden=True)
    assert DERIVED_LABEL in sentence and not any(n in sentence for n in _numbers(total) | _numbers(secret))
    by = public_by_comune(plan, role).set_index("pro_com_t")
    assert by.loc["X", "prevented_central"] == DERIVED_LABEL  # X's total is A's value alone
    assert by.loc["Y", "prevented_central"] == pytest.approx(total - secret, abs=0.01)  # no hidden row in Y
    front = frontier(cands, options, [5_000.0, 10_000.0])
    assert (front["small_rows"] > 0).all()
    pub = public_frontier(front, role)
    assert pub[["prevented_low", "prevented_central", "prevented_high", "objective",
                "marginal_central"]].isna().all().all()
    assert pub["cost_eur"].tolist() == front["cost_eur"].tolist()
    meta = options_metadata(options, {"delitti_evitati_anno": DERIVED_LABEL})
    geo = json.loads(plan_geojson(plan, NAMES, role=role, metadata=meta))
    assert geo["lanterna"]["delitti_evitati_anno"] == DERIVED_LABEL
    # the printable summary: no total, no comune X value, no frontier value
    page = summary_html(plan, names=NAMES, role=role, options=options, parameters=pd.DataFrame(
        columns=["Gruppo", "Parametro", "Valore", "Fonte"]), frontier=front)
    for value in (total, secret, plan.totals["prevented_low"], plan.totals["prevented_high"],
                  *front["prevented_central"], *front["marginal_central"]):
        assert not any(f">{n}<" in page or f" {n} " in page for n in _numbers(value)), value
    assert "Comune X</td>" in page and page.count(DERIVED_LABEL) >= 3


def test_cleared_role_sees_the_exact_totals():
    cands, options, plan = _plan()
    role = "forze_polizia"
    secret = float(plan.selected.loc[plan.selected["cell"] == HEX_A, "prevented_central"].iloc[0])
    assert not totals_hidden(plan, role)
    assert public_totals(plan, role) == plan.totals
    by = public_by_comune(plan, role).set_index("pro_com_t")
    assert by.loc["X", "prevented_central"] == pytest.approx(secret)
    assert format_decimal(plan.totals["prevented_central"], 1) in effect_sentence(plan.totals)
    front = frontier(cands, options, [5_000.0, 10_000.0])
    assert public_frontier(front, role).equals(front)
    page = summary_html(plan, names=NAMES, role=role, options=options, parameters=pd.DataFrame(
        columns=["Gruppo", "Parametro", "Valore", "Fonte"]), frontier=front)
    assert format_decimal(secret, 2) in page and format_decimal(plan.totals["prevented_central"], 1) in page


def test_plan_without_small_counts_keeps_its_totals():
    cands = build_candidates(_need())
    plan = optimise(cands, PlanOptions(budget=10_000.0, force_out=(f"{h3n.int_to_str(HEX_A)}-R",)))
    assert len(plan.selected) and not totals_hidden(plan, "regione")
    assert public_totals(plan, "regione")["prevented_central"] == plan.totals["prevented_central"]
    assert not math.isnan(public_frontier(frontier(cands, PlanOptions(budget=0.0, force_out=(
        f"{h3n.int_to_str(HEX_A)}-R",)), [10_000.0]), "regione")["prevented_central"].iloc[0])


@pytest.mark.parametrize("diffusion", [0.0, 0.5])
def test_diffusion_from_a_small_count_neighbour_is_hidden(diffusion):
    cands, _, plan = _plan(diffusion=diffusion)
    on_n = cands["cell"].to_numpy() == HEX_N  # N has 0 incidents; its neighbour A has 1
    assert cands.loc[on_n, "neighbour_small"].all() == bool(diffusion)
    assert hidden_rows(cands, "regione")[on_n].all() == bool(diffusion)
    assert not hidden_rows(cands, "forze_polizia").any()
    assert not hidden_rows(cands, "regione")[np.isin(cands["cell"], [HEX_B, HEX_C])].any()
    if not diffusion:
        assert (cands.loc[on_n, "prevented_central"] == 0).all()  # nothing to reveal
        return
    sel = plan.selected
    row_n = sel["cell"].to_numpy() == HEX_N
    assert row_n.any() and sel.loc[row_n, "prevented_central"].iloc[0] > 0  # from A's single incident alone
    table = plan_table(plan, NAMES, role="regione")
    assert table.loc[row_n, "Delitti notturni all'aperto nel periodo"].iloc[0] == "0"  # its own count is shown
    assert table.loc[row_n, "Delitti evitati/anno (centrale)"].iloc[0] == DERIVED_LABEL


# --------------------------------------------------------------------------------------------
# The plan of a role without clearance: computed on protected counts, everything shown
# --------------------------------------------------------------------------------------------

def test_plan_on_protected_counts_shows_its_effect_per_comune_and_on_the_frontier(tmp_path):
    """issue 11: the Regione sees its plan's expected effect with its range at every budget, per
    comune and on the frontier, because the plan derives only from protected (published) counts."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from lighting_store import build_lighting_store

    from geo.access import disclosure
    from geo.lighting.need import lighting_need

    store = build_lighting_store(tmp_path / "lighting.duckdb")
    exact = lighting_need(store, res=9)
    protected = lighting_need(store, res=9, role="regione")
    fine = store.incidents_by_cell(9).set_index("cell")
    store.close()
    assert not exact.attrs["protected"] and protected.attrs["protected"]
    assert not protected["night_outdoor"].between(1, disclosure.threshold() - 1).any()
    expected = disclosure.protect_counts(fine["night_outdoor"], fine["night_outdoor_key"], "regione")
    assert (protected.set_index("cell")["night_outdoor"].reindex(fine.index).to_numpy() == expected).all()
    assert not any(c.endswith("_key") for c in protected.columns)  # key sums are never published

    cands = build_candidates(protected)
    for budget in (1_000.0, 5_000.0, 50_000.0):
        plan = optimise(cands, PlanOptions(budget=budget))
        assert not totals_hidden(plan, "regione")
        totals = public_totals(plan, "regione")
        assert totals["prevented_low"] <= totals["prevented_central"] <= totals["prevented_high"]
        assert DERIVED_LABEL not in effect_sentence(totals, hidden=False)
        by = public_by_comune(plan, "regione")
        assert pd.api.types.is_numeric_dtype(by["prevented_central"])
        assert by["prevented_central"].sum() == pytest.approx(totals["prevented_central"])
    front = frontier(cands, PlanOptions(budget=0.0), [1_000.0, 5_000.0, 50_000.0])
    shown = public_frontier(front, "regione")
    assert shown["prevented_central"].notna().all() and (shown["prevented_central"] >= 0).all()
