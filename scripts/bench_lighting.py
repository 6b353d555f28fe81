"""Benchmark of the lighting planner (issue 5): prints figures, asserts nothing.

1. The optimal plan for 20,000 candidate interventions (target: under 2 s), with and without
   fairness shares, on a synthetic instance with the cost and benefit structure of real
   candidates (repairs, LED replacements, lots of new points).
2. On the demo province: need per hexagon, candidates, one optimal plan per budget.
3. The Illuminazione page: time of a script rerun after a budget change, through Streamlit's
   AppTest (target: under 1 s; need, candidates, frontier and the need layer are cached, so a
   budget change re-solves one plan and redraws the plan layer).

Usage: ``python scripts/bench_lighting.py [--db FILE] [--dashboard dashboard.py] [--repeat 3]``
(without ``--db`` a demo database is built in a temporary folder).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.lighting.need import lighting_need  # noqa: E402
from geo.lighting.plan import PlanOptions, build_candidates, optimise  # noqa: E402


def synthetic_candidates(n: int, *, seed: int = 0, comuni: int = 17) -> pd.DataFrame:
    """``n`` candidates: a third each of repairs (250 €/point), LED replacements (600 €/point) and
    lots of new points (4,000 €/point, up to 3 lots per hexagon); prevented incidents per euro
    drawn from a skewed distribution (most hexagons see few incidents)."""
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    cell = 0
    unit = {"riparazione": 250.0, "led": 600.0, "nuovi": 4000.0}
    weight = {"riparazione": 1.0, "led": 0.25, "nuovi": 1.0}
    while len(rows) < n:
        cell += 1
        incidents = rng.gamma(0.4, 2.0)
        comune = f"045{int(rng.integers(1, comuni + 1)):03d}"
        outskirts = bool(rng.random() < 0.7)
        for kind in ("riparazione", "led", "nuovi"):
            if rng.random() < 0.35:
                continue
            lots = int(rng.integers(1, 4)) if kind == "nuovi" else 1
            for lot in range(1, lots + 1):
                if len(rows) == n:
                    break
                points = int(rng.integers(1, 21))
                share = min(1.0, weight[kind] * points / 60.0)
                central = share * incidents * 0.21
                rows.append({"id": f"{cell:06d}-{kind[0]}{lot}", "cell": cell, "pro_com_t": comune, "kind": kind,
                             "lot": lot if kind == "nuovi" else 0, "points": points,
                             "cost_eur": points * unit[kind], "prevented_low": central * 0.10 / 0.21,
                             "prevented_central": central, "prevented_high": central * 0.36 / 0.21,
                             "perceived": share * float(rng.poisson(0.5)), "outskirts": outskirts,
                             "kwh_saved": 0.0, "eur_saved": 0.0, "co2_saved_kg": 0.0, "night_outdoor": 0,
                             "under_lit": False, "distance_km": 0.0})
    return pd.DataFrame(rows)


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def bench_optimiser(repeat: int) -> None:
    cands = synthetic_candidates(20_000)
    total = cands["cost_eur"].sum()
    print(f"1. Optimal plan, {len(cands):,} candidate interventions (cost of all: {total / 1e6:.1f} M€)")
    cases = {
        "budget 1 M€": PlanOptions(budget=1e6),
        "budget 5 M€": PlanOptions(budget=5e6),
        "budget 5 M€, shares 2-30 % per comune": PlanOptions(budget=5e6, min_share=0.02, max_share=0.30),
        "budget 5 M€, outskirts only, perceived weight 0.05": PlanOptions(budget=5e6, outskirts_only=True,
                                                                          perceived_weight=0.05),
    }
    for label, options in cases.items():
        seconds, plan = timed(lambda o=options: optimise(cands, o), repeat)
        s = plan.stats
        print(f"   {label:<52} {seconds:6.3f} s  (core {s['core']:,} candidates, {s['runs']} HiGHS runs, "
              f"bound - optimum = {s['bound'] - s['objective']:.2e})")


def bench_demo(db: Path, repeat: int) -> None:
    from geo.data.storage import Store

    print(f"2. Demo province ({db.name})")
    with Store(db, read_only=True) as store:
        for res in (8, 9, 10):
            seconds, need = timed(lambda r=res: lighting_need(store, res=r), 1)
            t = time.perf_counter()
            cands = build_candidates(need)
            t_cand = time.perf_counter() - t
            plan_s, plan = timed(lambda c=cands: optimise(c, PlanOptions(budget=1e6)), repeat)
            print(f"   res {res}: need {len(need):,} hexagons in {seconds:.2f} s; {len(cands):,} candidates in "
                  f"{t_cand:.3f} s; plan for 1 M€ in {plan_s:.3f} s ({plan.totals['interventions']} interventions, "
                  f"{plan.totals['prevented_central']:.1f} prevented/year, range "
                  f"{plan.totals['prevented_low']:.1f}-{plan.totals['prevented_high']:.1f})")


def bench_page(db: Path, dashboard: Path, repeat: int) -> None:
    from streamlit.testing.v1 import AppTest

    from geo.access.audit import utcnow
    from pages.common import SESSION_KEY

    os.environ["LANTERNA_DB"] = str(db)
    at = AppTest.from_file(str(dashboard), default_timeout=300)
    now = utcnow()  # logged in as the demo Regione account, as tests/app/conftest.py:login_as does
    at.session_state[SESSION_KEY] = {"username": "regione", "method": "test", "provider": None, "login_at": now,
                                     "seen_at": now}
    at.run()
    at.switch_page("pages/illuminazione.py")
    t = time.perf_counter()
    at.run()
    first = time.perf_counter() - t
    if at.exception:
        print(f"3. Page: error {[e.value for e in at.exception]}")
        return
    times = []
    for budget in [500_000.0, 1_500_000.0, 250_000.0, 2_000_000.0][: max(repeat, 2) + 1]:
        at.number_input(key="il_budget").set_value(budget)
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
    print(f"3. Page Illuminazione (AppTest, res 9): first run {first:.2f} s (need, candidates, frontier, map "
          f"layer); rerun after a budget change: median {statistics.median(times):.3f} s, max {max(times):.3f} s "
          f"({len(times)} changes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=None, help="demo database (built when missing)")
    parser.add_argument("--dashboard", type=Path, default=ROOT / "dashboard.py")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"CPU cores: {os.cpu_count()}; load average: {os.getloadavg()[0]:.1f}")
    bench_optimiser(args.repeat)
    db = args.db
    if db is None:
        from geo.data.storage import close_all
        from geo.demo.build import build_demo

        db = Path(tempfile.mkdtemp(prefix="bench-lighting-")) / "demo.duckdb"
        build_demo(path=db)
        close_all()
    bench_demo(db, args.repeat)
    bench_page(db, args.dashboard.resolve(), args.repeat)


if __name__ == "__main__":
    main()
