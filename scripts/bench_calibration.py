"""Calibration of the hot-spot layer on the real grid: null tables and power (issue 10).

On the hexagons of the territory (default Massa-Carrara) at resolutions 8, 9 and 10 it draws
counts where the truth is known and runs both hot-spot methods of :mod:`geo.zones.hotspots`:

* ``fdr`` (the former default): esda's Gi* z-scores, normal p-values, Benjamini-Hochberg;
* ``maxt`` (the default): Gi* of log(1 + count) with a max-statistic permutation test
  (Westfall & Young), 199 shuffles.

Complete nulls (no spatial pattern, every hot spot is false): Poisson with mean 0.3 and 3, a
negative binomial with the overdispersion of the demo (variance/mean 15 at mean 0.6, as in the
demo's residential cells) and, with ``--db``, the database's own counts of the last complete
year shuffled over the hexagons. The table gives the share of runs with **any** hot or cold
hexagon (the family-wise error; nominal 5 %) with its Monte-Carlo standard error, and the mean
number of false hexagons per run. The emerging hot-spot classes get the same null test on
spatially shuffled overdispersed series (24 months, quarterly bins).

Power: a cluster of 1, 7 or 19 hexagons (a disk of radius 0, 1, 2 around a random cell) at 2x,
4x, 8x the background rate over backgrounds 0.3 and 2 (Poisson), at resolution 9: the share of
runs in which the cluster is found (any of its hexagons hot) and the mean share of its hexagons
flagged. Usage::

    python scripts/bench_calibration.py [--runs 200] [--res 8 9 10] [--quick] [--db data/lanterna_massa-carrara.duckdb]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import h3.api.numpy_int as h3n  # noqa: E402
import numpy as np  # noqa: E402

from geo.data import hexgrid  # noqa: E402
from geo.data.territory import load_territory  # noqa: E402
from geo.zones import hotspots  # noqa: E402

ALPHA = hotspots.ALPHA


def negbin(rng: np.random.Generator, n: int, mean: float = 0.6, var_over_mean: float = 15.0) -> np.ndarray:
    size = mean / (var_over_mean - 1.0)
    return rng.negative_binomial(size, size / (size + mean), n)


def demo_counts(db: Path, cells: np.ndarray, res: int) -> np.ndarray | None:
    from geo.data.filters import Filters
    from geo.data.storage import Store
    from geo.zones import pilot

    with Store(db, read_only=True) as store:
        prep = pilot.prepare(store, Filters(res=res))
    counts = prep.table.base["incidents"].reindex(cells).fillna(0).to_numpy()
    return counts if counts.sum() > 0 else None


def null_table(cells: np.ndarray, runs: int, demo: np.ndarray | None) -> list[tuple[str, str, float, float, float]]:
    w = hotspots.contiguity_weights(cells)
    nulls = {
        "Poisson 0,3": lambda rng: rng.poisson(0.3, len(cells)),
        "Poisson 3": lambda rng: rng.poisson(3.0, len(cells)),
        "binomiale negativa (v/m 15)": lambda rng: negbin(rng, len(cells)),
    }
    if demo is not None:
        nulls["conteggi demo rimescolati"] = lambda rng: demo[rng.permutation(len(cells))]
    out = []
    for name, draw in nulls.items():
        for method in hotspots.METHODS:
            anyhit, false_n = 0, 0
            t0 = time.perf_counter()
            for seed in range(runs):
                y = draw(np.random.default_rng(10_000 + seed))
                res = hotspots.gi_star(cells, y, w=w, method=method, seed=seed)
                k = int((res["hotspot"] != hotspots.NONE).sum())
                anyhit += k > 0
                false_n += k
            share = anyhit / runs
            out.append((name, method, share, np.sqrt(max(share * (1 - share), 1e-9) / runs), false_n / runs))
            print(f"    {name:30s} {method:5s} {100 * share:5.1f} % ± {100 * out[-1][3]:.1f}"
                  f"  ({false_n / runs:.1f} falsi per prova, {time.perf_counter() - t0:.1f} s)", flush=True)
    return out


def ehsa_null(cells: np.ndarray, runs: int) -> None:
    w = hotspots.contiguity_weights(cells)
    for method in hotspots.METHODS:
        anyhit, classes = 0, 0
        for seed in range(runs):
            rng = np.random.default_rng(20_000 + seed)
            level = rng.gamma(0.5, 0.6, len(cells))
            counts = rng.poisson(level[:, None] * np.ones((1, 24)))[rng.permutation(len(cells))]
            res = hotspots.emerging_hotspots(cells, counts, w=w, method=method)
            k = int((res["pattern"] != "none").sum())
            anyhit += k > 0
            classes += k
        share = anyhit / runs
        se = np.sqrt(max(share * (1 - share), 1e-9) / runs)
        print(f"    classi emergenti, serie rimescolate {method:5s} {100 * share:5.1f} % ± {100 * se:.1f}"
              f"  ({classes / runs:.1f} esagoni con classe per prova)", flush=True)


def power_table(cells: np.ndarray, runs: int) -> None:
    w = hotspots.contiguity_weights(cells)
    pos = {int(c): i for i, c in enumerate(cells)}
    interior = [i for i, c in enumerate(cells) if all(int(n) in pos for n in h3n.grid_disk(int(c), 2))]
    print(f"    {'fondo':>5s} {'esagoni':>7s} {'x':>3s} | " + " | ".join(
        f"{m}: trovato / quota" for m in hotspots.METHODS))
    for background in (0.3, 2.0):
        for radius, size in ((0, 1), (1, 7), (2, 19)):
            for mult in (2, 4, 8):
                cols = []
                for method in hotspots.METHODS:
                    found, share = 0, 0.0
                    for seed in range(runs):
                        rng = np.random.default_rng(30_000 + seed)
                        centre = int(cells[interior[rng.integers(len(interior))]])
                        planted = np.array([pos[int(n)] for n in h3n.grid_disk(centre, radius)])
                        lam = np.full(len(cells), background)
                        lam[planted] *= mult
                        res = hotspots.gi_star(cells, rng.poisson(lam), w=w, method=method, seed=seed)
                        hot = (res["hotspot"] == hotspots.HOT).to_numpy()[planted]
                        found += bool(hot.any())
                        share += hot.mean()
                    cols.append(f"{100 * found / runs:5.1f} % / {100 * share / runs:5.1f} %")
                print(f"    {background:5.1f} {size:7d} {mult:3d} | " + " | ".join(cols), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--power-runs", type=int, default=100)
    ap.add_argument("--res", type=int, nargs="+", default=[8, 9, 10])
    ap.add_argument("--territory", default=None)
    ap.add_argument("--db", type=Path, default=None, help="database whose counts are shuffled (e.g. the demo)")
    ap.add_argument("--quick", action="store_true", help="20 runs, resolution 8 only")
    ap.add_argument("--skip-power", action="store_true")
    ap.add_argument("--ehsa-runs", type=int, default=None,
                    help="runs of the emerging-class null (default: --runs)")
    ap.add_argument("--only-ehsa", action="store_true", help="only the emerging-class null")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.power_runs, args.res = 20, 20, [8]
    ter = load_territory(args.territory)
    print(f"Calibrazione delle zone calde: {ter.name}, alpha {ALPHA}, {hotspots.PERMUTATIONS} rimescolamenti,"
          f" {args.runs} prove per nullo")
    for res in args.res:
        cells = np.sort(hexgrid.polygon_to_cells(ter.outline, res))
        print(f"\n  Risoluzione {res}: {len(cells):,} esagoni — quota di prove con almeno una zona calda o fredda"
              " (nominale 5 %)")
        if not args.only_ehsa:
            demo = demo_counts(args.db, cells, res) if args.db else None
            null_table(cells, args.runs, demo)
        ehsa_null(cells, args.ehsa_runs or args.runs)
    if not args.skip_power and not args.only_ehsa:
        res = 9 if 9 in args.res or not args.quick else args.res[0]
        cells = np.sort(hexgrid.polygon_to_cells(ter.outline, res))
        print(f"\n  Potenza a risoluzione {res}: quota di prove in cui il gruppo è trovato / quota media dei suoi"
              " esagoni segnalati")
        power_table(cells, args.power_runs)


if __name__ == "__main__":
    main()
