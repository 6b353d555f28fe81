"""The lighting optimiser (:mod:`geo.lighting.plan`): exact against brute force, budget, fairness,
forced interventions, lots, frontier, and a worked example of candidates and plan totals."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from lighting_store import HEX_A, HEX_B, HEX_C, build_lighting_store

from geo.data import hexgrid
from geo.lighting.need import lighting_need
from geo.lighting.plan import (
    CANDIDATE_COLUMNS,
    PlanError,
    PlanOptions,
    build_candidates,
    frontier,
    frontier_budgets,
    optimise,
    plan_totals,
)

TOL = 1e-7


def random_candidates(n: int, seed: int, *, comuni: int = 3, lots: bool = True) -> pd.DataFrame:
    """Random candidates with the columns the optimiser reads; some hexagons get two or three lots
    of new points (in order)."""
    rng = np.random.default_rng(seed)
    rows = []
    cell = 0
    while len(rows) < n:
        cell += 1
        kind = rng.choice(["riparazione", "led", "nuovi"])
        n_lots = int(rng.integers(1, 4)) if (kind == "nuovi" and lots) else 1
        com = f"0450{int(rng.integers(0, comuni)):02d}"
        outskirts = bool(rng.random() < 0.5)
        ratio = rng.gamma(1.0, 1.0) * 1e-4          # prevented incidents per euro, same for every lot
        for lot in range(1, n_lots + 1):
            if len(rows) == n:
                break
            points = int(rng.integers(1, 12))
            unit = {"riparazione": 250.0, "led": 600.0, "nuovi": 4000.0}[kind]
            cost = points * unit
            central = ratio * cost
            rows.append({"id": f"c{cell:04d}-{kind[0]}{lot}", "cell": cell, "h3": f"h{cell}", "pro_com_t": com,
                         "kind": kind, "lot": lot if kind == "nuovi" else 0, "points": points, "cost_eur": cost,
                         "prevented_low": central * 0.10 / 0.21, "prevented_central": central,
                         "prevented_high": central * 0.36 / 0.21, "perceived": float(rng.poisson(1.0)) * 0.5,
                         "outskirts": outskirts, "kwh_saved": 0.0, "eur_saved": 0.0, "co2_saved_kg": 0.0,
                         "night_outdoor": 3, "under_lit": False, "distance_km": 1.0})
    return pd.DataFrame(rows)


def feasible(c: pd.DataFrame, x: np.ndarray, o: PlanOptions) -> bool:
    """The constraints of the module docstring, written independently of the solver."""
    cost = c["cost_eur"].to_numpy()
    if cost[x].sum() > o.budget + 1e-6:
        return False
    ids = c["id"].to_numpy()
    if any(not x[ids == i].all() for i in o.force_in) or any(x[ids == i].any() for i in o.force_out):
        return False
    value = c["prevented_central"].to_numpy() + o.perceived_weight * c["perceived"].to_numpy()
    excluded = np.isin(ids, list(o.force_out)) | ((value <= 0) & ~np.isin(ids, list(o.force_in)))
    if o.outskirts_only:
        outside = ~c["outskirts"].to_numpy() & ~np.isin(ids, list(o.force_in))
        if (x & outside).any():
            return False
        excluded |= outside
    total = cost[x].sum()
    for com in c["pro_com_t"].unique():
        member = c["pro_com_t"].to_numpy() == com
        spend = cost[x & member].sum()
        low = o.min_share.get(com, 0.0) if isinstance(o.min_share, dict) else o.min_share
        high = o.max_share.get(com, 1.0) if isinstance(o.max_share, dict) else o.max_share
        if spend > high * total + 1e-6:
            return False
        has_candidates = (member & ~excluded).any()
        if has_candidates and spend < low * total - 1e-6:
            return False
    for _, g in c[c["kind"] == "nuovi"].groupby("cell"):
        chosen = x[g.index.to_numpy()][np.argsort(g["lot"].to_numpy())]
        if np.any(chosen[1:] > chosen[:-1]):
            return False
    return True


def brute_force(c: pd.DataFrame, o: PlanOptions) -> float | None:
    """Best objective over all 2^n plans (None when none is feasible)."""
    value = c["prevented_central"].to_numpy() + o.perceived_weight * c["perceived"].to_numpy()
    best = None
    for bits in itertools.product([False, True], repeat=len(c)):
        x = np.array(bits)
        if feasible(c, x, o):
            v = float(value[x].sum())
            best = v if best is None or v > best else best
    return best


def chosen_mask(c: pd.DataFrame, plan) -> np.ndarray:
    return c["id"].isin(plan.selected["id"]).to_numpy()


@pytest.mark.parametrize("seed", range(8))
def test_plan_equals_brute_force_on_small_instances(seed):
    c = random_candidates(11, seed)
    rng = np.random.default_rng(100 + seed)
    budget = float(c["cost_eur"].sum() * rng.uniform(0.15, 0.6))
    variants = [
        PlanOptions(budget=budget),
        PlanOptions(budget=budget, min_share=0.15, max_share=0.6),
        PlanOptions(budget=budget, perceived_weight=0.01, outskirts_only=True),
        PlanOptions(budget=budget, force_in=(c["id"].iloc[-1],), force_out=(c["id"].iloc[0],)),
    ]
    for options in variants:
        expected = brute_force(c, options)
        if expected is None:
            with pytest.raises(PlanError):
                optimise(c, options)
            continue
        plan = optimise(c, options)
        x = chosen_mask(c, plan)
        assert feasible(c, x, options), options
        assert plan.totals["objective"] == pytest.approx(expected, abs=TOL), options
        assert plan.totals["cost_eur"] <= options.budget + 1e-6
        assert plan.status == "ottimo"


@pytest.mark.parametrize("seed", [11, 12])
def test_plan_equals_brute_force_with_twelve_candidates_and_lots(seed):
    c = random_candidates(12, seed, comuni=2)
    assert (c["lot"] > 1).any()  # lots in order are part of the instance
    budget = float(c["cost_eur"].sum() * 0.35)
    for options in (PlanOptions(budget=budget), PlanOptions(budget=budget, min_share=0.2)):
        plan = optimise(c, options)
        assert plan.totals["objective"] == pytest.approx(brute_force(c, options), abs=TOL)
        assert feasible(c, chosen_mask(c, plan), options)


@pytest.mark.parametrize("seed", range(6))
def test_binding_shares_equal_brute_force(seed, monkeypatch):
    # Shares that bind go to HiGHS in their sparse form (spend per comune and total as variables);
    # make sure that path runs and agrees with brute force.
    import geo.lighting.plan as lp

    calls = []
    original = lp._share_form
    monkeypatch.setattr(lp, "_share_form", lambda *a, **k: calls.append(1) or original(*a, **k))
    c = random_candidates(11, 40 + seed, comuni=3)
    budget = float(c["cost_eur"].sum() * np.random.default_rng(seed).uniform(0.2, 0.7))
    variants = [PlanOptions(budget=budget, min_share=0.25),
                PlanOptions(budget=budget, min_share=0.1, max_share=0.45),
                PlanOptions(budget=budget, max_share={"045000": 0.2}, force_in=(c["id"].iloc[2],))]
    for options in variants:
        expected = brute_force(c, options)
        if expected is None:
            with pytest.raises(PlanError):
                optimise(c, options)
            continue
        plan = optimise(c, options)
        assert feasible(c, chosen_mask(c, plan), options)
        assert plan.totals["objective"] == pytest.approx(expected, abs=TOL)
    assert calls


def test_budget_is_never_exceeded_on_a_large_instance():
    c = random_candidates(3000, 3, comuni=8)
    for budget in (0.0, 12_345.0, 250_000.0, 1_000_000.0, 5_000_000.0):
        plan = optimise(c, PlanOptions(budget=budget))
        assert plan.totals["cost_eur"] <= budget + 1e-6
        assert plan.stats["objective"] <= plan.stats["bound"] + 1e-9
    everything = optimise(c, PlanOptions(budget=float(c["cost_eur"].sum())))
    assert len(everything.selected) == len(c)  # enough money: every useful intervention


def test_fairness_shares_hold_on_a_large_instance():
    c = random_candidates(2000, 5, comuni=5)
    options = PlanOptions(budget=400_000.0, min_share=0.12, max_share=0.30)
    plan = optimise(c, options)
    by = plan.by_comune.set_index("pro_com_t")
    assert set(by.index) == set(c["pro_com_t"])
    assert (by["share"] >= 0.12 - 1e-9).all()
    assert (by["share"] <= 0.30 + 1e-9).all()
    assert feasible(c, chosen_mask(c, plan), options)
    free = optimise(c, PlanOptions(budget=400_000.0))
    assert free.totals["objective"] >= plan.totals["objective"] - 1e-9  # constraints cost something or nothing
    per_comune = PlanOptions(budget=400_000.0, max_share={"045000": 0.0})
    assert "045000" not in set(optimise(c, per_comune).selected["pro_com_t"])


def test_forced_interventions():
    c = random_candidates(400, 9)
    worst = c.assign(r=c["prevented_central"] / c["cost_eur"]).nsmallest(3, "r")["id"].tolist()
    best = c.assign(r=c["prevented_central"] / c["cost_eur"]).nlargest(3, "r")["id"].tolist()
    plan = optimise(c, PlanOptions(budget=100_000.0, force_in=tuple(worst), force_out=tuple(best)))
    chosen = set(plan.selected["id"])
    assert set(worst) <= chosen
    assert not set(best) & chosen
    assert plan.totals["cost_eur"] <= 100_000.0
    with pytest.raises(PlanError, match="budget"):
        optimise(c, PlanOptions(budget=1.0, force_in=(worst[0],)))
    with pytest.raises(PlanError, match="sconosciuti"):
        optimise(c, PlanOptions(budget=1.0, force_in=("nessuno",)))
    with pytest.raises(PlanError, match="forzati sia esclusi"):
        PlanOptions(budget=1.0, force_in=("a",), force_out=("a",))


def test_outskirts_only_keeps_forced_central_interventions():
    c = random_candidates(300, 4)
    central_id = c.loc[~c["outskirts"], "id"].iloc[0]
    plan = optimise(c, PlanOptions(budget=200_000.0, outskirts_only=True, force_in=(central_id,)))
    sel = plan.selected.set_index("id")
    assert bool(sel.loc[central_id, "outskirts"]) is False
    assert sel.drop(index=central_id)["outskirts"].all()


def test_minimum_share_that_limits_the_plan_is_explained():
    c = random_candidates(200, 2, comuni=3)
    small = c["pro_com_t"].value_counts().index[-1]
    c = c[(c["pro_com_t"] != small) | (c.index == c.index[c["pro_com_t"] == small][0])].reset_index(drop=True)
    plan = optimise(c, PlanOptions(budget=float(c["cost_eur"].sum()), min_share=0.2))
    assert any(small in note and "quota minima" in note for note in plan.warnings)
    assert plan.by_comune.set_index("pro_com_t").loc[small, "share"] >= 0.2 - 1e-9


def test_frontier_is_non_decreasing_and_matches_single_plans():
    c = random_candidates(600, 8, comuni=4)
    options = PlanOptions(budget=0.0, min_share=0.05, max_share=0.6, perceived_weight=0.001)
    budgets = frontier_budgets(c, max_budget=1_500_000.0, step=100_000.0)
    assert budgets[0] == 0
    assert np.allclose(np.diff(budgets), 100_000.0)
    front = frontier(c, options, budgets)
    assert len(front) == len(budgets)
    assert (np.diff(front["objective"]) >= -1e-9).all()
    assert (front["cost_eur"] <= front["budget_eur"] + 1e-6).all()
    assert front["marginal_central"].sum() == pytest.approx(front["prevented_central"].iloc[-1])
    b = float(budgets[4])
    single = optimise(c, PlanOptions(budget=b, min_share=0.05, max_share=0.6, perceived_weight=0.001))
    assert front.loc[front["budget_eur"] == b, "objective"].iloc[0] == pytest.approx(single.totals["objective"])
    wide = frontier_budgets(c, max_budget=1e12, step=100_000.0, max_points=40)
    assert len(wide) <= 41
    assert wide[-1] >= c["cost_eur"].sum() - 1e-6


def test_plan_is_ranked_by_value_per_euro_with_cumulative_cost():
    c = random_candidates(500, 1)
    plan = optimise(c, PlanOptions(budget=300_000.0))
    sel = plan.selected
    assert sel["rank"].tolist() == list(range(1, len(sel) + 1))
    assert (np.diff(sel["value_per_keur"]) <= 1e-12).all()
    assert np.allclose(sel["cumulative_cost_eur"], sel["cost_eur"].cumsum())
    assert plan.totals["cost_eur"] == pytest.approx(sel["cost_eur"].sum())


# --------------------------------------------------------------------------------------------
# Worked example on the hand-made database (tests/unit/lighting_store.py)
# --------------------------------------------------------------------------------------------

@pytest.fixture
def candidates(tmp_path) -> pd.DataFrame:
    store = build_lighting_store(tmp_path / "lighting.duckdb")
    need = lighting_need(store, res=9)
    store.close()
    return build_candidates(need).set_index("id")


def _hex(cell: int) -> str:
    return hexgrid.to_str([cell])[0]


def test_worked_example_candidates(candidates):
    c, a, b = _hex(HEX_C), _hex(HEX_A), _hex(HEX_B)
    assert list(candidates.reset_index().columns) == CANDIDATE_COLUMNS
    # C (under-lit, D = 42 points, 24 incidents/year: 20 damages, outside the evidence, and 4 assaults,
    # central 14 %, range 0-36 %): 0.56 prevented a year with the full intervention (1.44 at the high end).
    # repair 1 modern point: 250 €, share 1/42, central 4 x 0.14 / 42 = 0.01333
    r = candidates.loc[f"{c}-R"]
    assert (r["points"], r["cost_eur"]) == (1, 250.0)
    assert (r["exposed_year"], r["counted_year"]) == pytest.approx((24.0, 4.0))
    assert (r["prevented_low"], r["prevented_central"], r["prevented_high"]) == pytest.approx(
        (0.0, 0.56 / 42, 1.44 / 42))
    # the repaired LED draws 40 W again: -40 x 4,200 / 1000 = -168 kWh/year
    assert r["kwh_saved"] == pytest.approx(-168.0)
    # LED: 4 mercury lamps, 2,400 €, share 1.75/42, central = 1.75 / 42 x 0.56 = 0.02333;
    # energy 500 W x 0.55 x 4,200 h = 1,155 kWh, 288.75 €, 300.3 kg CO2 a year
    led = candidates.loc[f"{c}-L"]
    assert (led["points"], led["cost_eur"], led["prevented_central"]) == pytest.approx((4, 2400.0, 1.75 * 0.56 / 42))
    assert (led["kwh_saved"], led["eur_saved"], led["co2_saved_kg"]) == pytest.approx((1155.0, 288.75, 300.3))
    # new points: 32 in lots of 20 and 12: 80,000 € and 48,000 €; central 20/42 x 0.56 = 0.2667 and 0.16;
    # a new LED point of 40 W draws 168 kWh a year
    n1, n2 = candidates.loc[f"{c}-N1"], candidates.loc[f"{c}-N2"]
    assert (n1["points"], n1["cost_eur"], n1["prevented_central"]) == pytest.approx((20, 80_000.0, 20 / 42 * 0.56))
    assert (n2["points"], n2["cost_eur"], n2["prevented_central"]) == pytest.approx((12, 48_000.0, 0.16))
    assert n1["kwh_saved"] == pytest.approx(-20 * 168.0)
    # perceived points: share x 7 demand points; for N1 20/42 x 7 = 3.33
    assert n1["perceived"] == pytest.approx(20 / 42 * 7)
    # A: 2 modern broken points, not under-lit (weight 0.5): share 1/70; 12 incidents a year, 5 robberies
    # (central 14 %) and 7 vehicle thefts (21 %): central (5 x 0.14 + 7 x 0.21) / 70 = 2.17 / 70 = 0.031
    assert candidates.loc[f"{a}-R", "prevented_central"] == pytest.approx(2.17 / 70)
    assert candidates.loc[f"{a}-R", "prevented_high"] == pytest.approx(12 * 0.36 / 70)
    # B: LED for 5 sodium lamps with no incidents: worth nothing for crime, still saves 1,155 kWh
    assert candidates.loc[f"{b}-L", "prevented_central"] == 0.0
    assert candidates.loc[f"{b}-L", "kwh_saved"] == pytest.approx(1155.0)


def test_worked_example_plan_and_totals(candidates):
    c = _hex(HEX_C)
    cands = candidates.reset_index()
    # 3,000 €: A's repair (0.031 for 500 €) and C's repair (0.0133 for 250 €) are the best per euro, but
    # the three cheap ones do not fit together (500 + 250 + 2,400 > 3,000): A's repair and C's LED
    # (0.031 + 0.0233 = 0.0543 for 2,900 €) beat A's and C's repairs (0.0443) and C's repair and LED (0.0367).
    plan = optimise(cands, PlanOptions(budget=3000.0))
    a = _hex(HEX_A)
    assert set(plan.selected["id"]) == {f"{a}-R", f"{c}-L"}
    t = plan.totals
    assert t["cost_eur"] == 2900.0
    assert (t["prevented_low"], t["prevented_central"], t["prevented_high"]) == pytest.approx(
        (0.0, 2.17 / 70 + 1.75 * 0.56 / 42, 12 * 0.36 / 70 + 1.75 * 1.44 / 42))
    # LED: 1,155 kWh, 288.75 €, 300.3 kg a year; payback 2,400 / 288.75 = 8.31 years;
    # A's repair brings back 2 LED points of 40 W: 336 kWh more, net 819 kWh, 204.75 €
    assert (t["led_kwh_saved"], t["led_eur_saved"], t["led_co2_saved_kg"]) == pytest.approx((1155.0, 288.75, 300.3))
    assert t["led_payback_years"] == pytest.approx(2400 / 288.75)
    assert (t["extra_kwh"], t["net_kwh_saved"], t["net_eur_saved"]) == pytest.approx((336.0, 819.0, 204.75))
    assert t["points"] == {"riparazione": 2, "led": 4, "nuovi": 0}
    # The lots of new points come in order: with 82,650 € the first lot fits, never the second alone.
    plan = optimise(cands, PlanOptions(budget=82_650.0))
    assert f"{c}-N1" in set(plan.selected["id"])
    assert f"{c}-N2" not in set(plan.selected["id"])
    assert plan_totals(plan.selected)["points"]["nuovi"] == 20
    # Candidates worth nothing (B's LED: no incidents) are never proposed, even with money left.
    rich = optimise(cands, PlanOptions(budget=1e7))
    assert f"{_hex(HEX_B)}-L" not in set(rich.selected["id"])
    # ... unless the perceived-safety weight or a forced choice asks for them.
    forced = optimise(cands, PlanOptions(budget=1e7, force_in=(f"{_hex(HEX_B)}-L",)))
    assert f"{_hex(HEX_B)}-L" in set(forced.selected["id"])


def test_single_candidate_per_hexagon_without_lots(tmp_path):
    store = build_lighting_store(tmp_path / "nolots.duckdb")
    need = lighting_need(store, res=9)
    store.close()
    cands = build_candidates(need, lot_size=None).set_index("id")
    c = _hex(HEX_C)
    assert cands.loc[f"{c}-N1", "points"] == 32
    assert f"{c}-N2" not in cands.index
    assert cands.loc[f"{c}-N1", "prevented_central"] == pytest.approx(32 / 42 * 0.56)


def test_empty_candidates_give_an_empty_plan():
    empty = build_candidates(pd.DataFrame())
    assert list(empty.columns) == CANDIDATE_COLUMNS
    plan = optimise(empty, PlanOptions(budget=1000.0))
    assert plan.selected.empty
    assert plan.totals["cost_eur"] == 0.0


def test_forcing_a_later_lot_brings_the_earlier_ones(candidates):
    c = _hex(HEX_C)
    cands = candidates.reset_index()
    plan = optimise(cands, PlanOptions(budget=200_000.0, force_in=(f"{c}-N2",)))
    assert {f"{c}-N1", f"{c}-N2"} <= set(plan.selected["id"])
    plan = optimise(cands, PlanOptions(budget=1e7, force_out=(f"{c}-N1",)))
    assert not {f"{c}-N1", f"{c}-N2"} & set(plan.selected["id"])
    with pytest.raises(PlanError, match="lotto"):
        optimise(cands, PlanOptions(budget=1e7, force_in=(f"{c}-N2",), force_out=(f"{c}-N1",)))


def test_exports_refuse_exact_plans_to_roles_without_clearance_and_neutralise_formulas():
    from geo.lighting.report import PLAN_HEADERS, ExactFiguresError, plan_csv, plan_geojson, plan_table

    c = random_candidates(40, 6, comuni=2)
    c["night_outdoor"] = np.where(np.arange(len(c)) % 2 == 0, 0, 30)
    real = hexgrid.neighbours(HEX_A, 4)  # the GeoJSON needs real H3 cells
    c["cell"] = real[c["cell"].to_numpy() % len(real)]
    names = {"045000": "=HYPERLINK(\"x\")", "045001": "Carrara"}
    exact_plan = optimise(c, PlanOptions(budget=float(c["cost_eur"].sum())))
    assert not exact_plan.protected
    with pytest.raises(ExactFiguresError, match="conteggi esatti"):
        plan_table(exact_plan, names, role="osservatore")
    exact = plan_table(exact_plan, names, role="forze_polizia")
    assert exact[PLAN_HEADERS["night_outdoor"]].tolist() == exact_plan.selected["night_outdoor"].tolist()
    c.attrs["protected"] = True  # candidates on protected counts (lighting_need(role=...))
    plan = optimise(c, PlanOptions(budget=float(c["cost_eur"].sum())))
    assert plan.protected
    shown = plan_table(plan, names, role="osservatore")
    col = PLAN_HEADERS["prevented_central"]
    assert pd.api.types.is_float_dtype(shown[col])
    assert pd.api.types.is_integer_dtype(shown[PLAN_HEADERS["night_outdoor"]])
    assert shown[col].tolist() == plan.selected["prevented_central"].round(3).tolist()
    text = plan_csv(plan, names, role="osservatore").decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert ";=HYPERLINK" not in text
    assert "riservato" not in text
    assert "< 3" not in text
    gj = json.loads(plan_geojson(plan, names, role="osservatore"))
    assert "chiave di cella" in gj["lanterna"]["riservatezza"]  # the protection note of the cell-key method
    assert len(gj["features"]) == len(plan.selected)


def _zero_value_instance() -> pd.DataFrame:
    """Comune X has one candidate worth nothing (no incidents, no perceived demand), comune Y two
    valuable ones."""
    rows = [("x-zero", "045000", 0.0, 1_000.0), ("y-1", "045001", 0.5, 1_000.0), ("y-2", "045001", 0.2, 1_000.0)]
    return pd.DataFrame([{
        "id": i, "cell": k, "h3": f"h{k}", "pro_com_t": com, "kind": "riparazione", "lot": 0, "points": 4,
        "cost_eur": cost, "prevented_low": 0.0, "prevented_central": v, "prevented_high": 2 * v, "perceived": 0.0,
        "outskirts": False, "kwh_saved": 0.0, "eur_saved": 0.0, "co2_saved_kg": 0.0, "night_outdoor": 0,
        "under_lit": False, "distance_km": 1.0} for k, (i, com, v, cost) in enumerate(rows)])


@pytest.mark.parametrize("options", [
    PlanOptions(budget=10_000.0),                     # money left over: still not proposed
    PlanOptions(budget=10_000.0, min_share=0.2),      # a minimum share per comune does not force it in
    PlanOptions(budget=2_000.0, min_share=0.3),
])
def test_a_candidate_worth_nothing_is_never_chosen(options):
    """The guard ``hi[(value <= 0) & ~force_in] = 0`` of :func:`geo.lighting.plan._problem`: without
    it, comune X's zero-value candidate would count as 'something to do' in X and the minimum
    share would force money into it."""
    c = _zero_value_instance()
    plan = optimise(c, options)
    assert "x-zero" not in set(plan.selected["id"])
    assert set(plan.selected["id"]) <= {"y-1", "y-2"}
    assert plan.totals["prevented_central"] > 0
    # forced in, it is taken anyway
    forced = optimise(c, PlanOptions(budget=options.budget, force_in=("x-zero",)))
    assert "x-zero" in set(forced.selected["id"])


def test_solver_output_is_kept_out_of_stdout(capfd):
    import os

    from geo.lighting.plan import _quiet_stdout

    print("prima", flush=True)
    with _quiet_stdout():
        os.write(1, b"HighsMipSolverData::transformNewIntegerFeasibleSolution\n")  # as HiGHS's printf
    print("dopo", flush=True)
    assert capfd.readouterr().out == "prima\ndopo\n"
