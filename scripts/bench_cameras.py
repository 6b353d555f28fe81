"""Benchmark of the camera placement (issue 18): MILP (HiGHS) against brute force on small random
instances and against the greedy heuristic on the demo territory. Prints figures; run with
``.venv/bin/python scripts/bench_cameras.py``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))

from test_cameras import random_problem

from geo import config
from geo.cameras import placement as pl
from geo.cameras.analysis import analyse
from geo.data.storage import Store
from geo.data.territory import territory_of_store


def small() -> None:
    worst, t_milp, t_brute = 0.0, 0.0, 0.0
    n = 30
    for seed in range(n):
        prob = random_problem(seed, n_sites=6, n_demand=10, budget=[6e3, 12e3, 20e3][seed % 3],
                              cap=2 if seed % 2 else None)
        t0 = time.perf_counter()
        a = pl.solve(prob)
        t1 = time.perf_counter()
        b = pl.brute_force(prob)
        t2 = time.perf_counter()
        t_milp += t1 - t0
        t_brute += t2 - t1
        va, vb = pl.value_of(prob, a.x), pl.value_of(prob, b.x)
        worst = max(worst, abs(va - vb) / max(vb, 1e-9))
    print(f"Piccole istanze ({n}, 12 candidati): scarto relativo massimo MILP - forza bruta = {worst:.2e}; "
          f"tempo medio MILP {t_milp / n * 1000:.1f} ms, forza bruta {t_brute / n * 1000:.1f} ms")


def demo() -> None:
    with Store(config.db_path(config.DEFAULT_TERRITORY), read_only=True) as store:
        terr = territory_of_store(store)
        analysis = analyse(store, terr.metric_crs, role="prefettura")
    for budget in (50_000, 150_000, 400_000):
        prob = pl.build_problem(analysis, terr.metric_crs, pl.PlacementOptions(budget=budget, max_per_comune=15))
        t0 = time.perf_counter()
        exact = pl.solve(prob)
        t1 = time.perf_counter()
        g = pl.greedy(prob)
        t2 = time.perf_counter()
        ve, vg = exact.totals["value"], g.totals["value"]
        print(f"Demo, budget {budget:>7} €: {len(prob.candidates)} candidati, {len(prob.demand)} celle; "
              f"MILP {ve:.1f} ({exact.status}, {t1 - t0:.2f} s), greedy {vg:.1f} ({t2 - t1:.2f} s), "
              f"greedy/MILP = {vg / ve:.3f}; delitti/anno coperti {exact.totals['incidents_year_covered']:.1f}")


if __name__ == "__main__":
    small()
    demo()
