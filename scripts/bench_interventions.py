"""Benchmark of the interventions evaluation (geo.interventions.evaluation).

Coverage of the 95 % placebo-permutation interval on null data (no effect) and power on planted
effects (−10 %, −20 %, −30 %), on a synthetic grid of 271 resolution-9 hexagons with overdispersed
monthly counts (gamma-Poisson), 12 months before and 12 after; treated area: a hexagon and its ring.

    .venv/bin/python scripts/bench_interventions.py [--runs 200]

Measured before the fix (100 runs, 2026-12-03): coverage 94 % with no effect, but only 84 % / 84 % /
91 % of the true ratio at −10 / −20 / −30 %: the placebo areas kept the treated area's comparison
cells (no matching of their own) and their raw log ratios, taken at no effect, ignore that a real
fall in the treated counts widens the log ratio's Poisson variance (1/S grows), so the interval
was too narrow. The fix (geo.interventions.evaluation): placebo areas made of one stand-in per
treated cell and re-matched like the treated one; each log ratio studentized by its own
negative-binomial standard error (overdispersion estimated on the pre-period); the interval is
``log R − t_q · se`` on the treated area's own counts.

Measured after the fix (500 runs per effect, 2026-12-03; nominal 95 %): coverage of the true ratio
94,8 % with no effect, 93,4 % / 93,2 % / 93,8 % at −10 / −20 / −30 % (binomial margin ± 2 %);
power 29 % / 76 % / 99 %; size 5,2 %; mean estimates −0,3 / −10,2 / −20,2 / −30,3 %. On 800
further seeds the studentized error (log R − log truth) / se has sd 0,94-0,96 against a placebo
t sd of 0,99: the interval is, if anything, slightly conservative.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import h3
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.interventions.evaluation import evaluate_matrix

GRID = sorted(h3.str_to_int(c) for c in h3.grid_disk(h3.latlng_to_cell(44.035, 10.14, 9), 9))
MONTHS = pd.date_range("2023-01-01", periods=24, freq="MS")
START = date(2024, 1, 1)


def grid(seed: int, effect: float) -> tuple[pd.DataFrame, list[int]]:
    rng = np.random.default_rng(seed)
    base = rng.gamma(4.0, 1.5, size=len(GRID))
    lam = np.repeat(base[:, None], len(MONTHS), axis=1) * rng.gamma(20, 1 / 20, size=(len(GRID), len(MONTHS)))
    centre = h3.int_to_str(GRID[int(rng.integers(len(GRID)))])
    treated = [h3.str_to_int(c) for c in h3.grid_disk(centre, 1) if h3.str_to_int(c) in set(GRID)]
    lam[np.ix_(np.isin(GRID, treated), np.arange(12, 24))] *= 1 + effect
    return pd.DataFrame(rng.poisson(lam), index=GRID, columns=MONTHS), treated


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--placebo", type=int, default=199, help="placebo areas per run (the page uses 199)")
    args = ap.parse_args()
    runs = args.runs
    print(f"{runs} runs per effect, {args.placebo} placebo areas; nominal coverage 95 %, nominal size 5 % "
          "(± is the binomial 95 % margin of the coverage over the runs)")
    print(f"{'effect':>8} {'nominal':>8} {'coverage of truth':>20} {'rejects ratio 1':>16} {'mean estimate':>14} "
          f"{'s/run':>7}")
    for effect in (0.0, -0.10, -0.20, -0.30):
        covered = rejected = 0
        estimates = []
        t0 = time.perf_counter()
        for seed in range(runs):
            counts, treated = grid(10_000 + seed, effect)
            out = evaluate_matrix(counts, treated, START, seed=seed, n_placebo=args.placebo)
            covered += out.low <= 1 + effect <= out.high
            rejected += not out.covers_zero
            estimates.append(out.ratio - 1)
        dt = (time.perf_counter() - t0) / runs
        share = covered / runs
        margin = 1.96 * (share * (1 - share) / runs) ** 0.5
        print(f"{effect:>8.0%} {'95,0%':>8} {share:>12.1%} ± {margin:>4.1%} {rejected / runs:>16.1%} "
              f"{np.mean(estimates):>14.1%} {dt:>7.3f}")


if __name__ == "__main__":
    main()
