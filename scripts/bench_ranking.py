"""Benchmark of the pilot-zone ranking against a greedy region-growing baseline (issue 10).

For every weight preset, on a real database (the demo by default) at resolution 9 for one
period, it prints the top 10 of three rankings of pilot zones with the same priority and the same
size bounds:

* ``media``: the former ranking, the product's zones by their mean priority;
* ``beneficio``: the product's ranking, the same zones by expected benefit (priority x area);
* ``greedy``: :func:`geo.zones.baseline.greedy_zones`, zones grown from the best free candidate
  hexagon through candidates (the same candidate bound and area bounds), in the order grown;
* ``greedy libero`` (for information): the same growth through any hexagon with a positive
  priority, so every zone reaches the maximum size.

Columns: priority mass of the top 10 (points x km²), hot hexagons (Gi*, max-T) inside it, hexagons,
zones at the minimum size (at most ``ceil(min_km2 / hexagon area)`` hexagons), the smallest
number of residents of a top-10 zone, the zones with fewer than 100 residents, and the
compactness (mean number of H3 edges inside a zone per hexagon: about 2.2 for a round zone of 20
hexagons, 1 for a line). Then the
reliability classes of the zone rates, and the effect of dropping an absent layer: with the
confiscated-assets layer removed, how the top 10 differs when its weight is kept (former) or
renormalised (product).

Usage::

    python scripts/bench_ranking.py [--db data/lanterna_massa-carrara.duckdb] [--year 2024]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from geo.data.filters import Filters  # noqa: E402
from geo.data.storage import Store  # noqa: E402
from geo.zones import baseline, hotspots, pilot  # noqa: E402
from geo.zones.indicators import INDICATOR_KEYS  # noqa: E402
from geo.zones.priority import PRESETS, preset_weights  # noqa: E402

TOP = 10


def top_figures(labels: np.ndarray, priority: np.ndarray, area: np.ndarray, hot: np.ndarray,
                residents: np.ndarray, min_cells: int, adj) -> dict:
    """Figures of the zones ranked 1..TOP (``labels``: rank per cell, 0 = none)."""
    keep = (labels >= 1) & (labels <= TOP)
    inner = [adj[idx][:, idx].sum() / 2 / len(idx) for z in range(1, TOP + 1)
             if len(idx := np.flatnonzero(labels == z))]
    sizes = np.bincount(labels[keep], minlength=TOP + 1)[1:]
    res = pd.Series(residents[keep]).groupby(labels[keep]).sum()
    return {
        "massa": float((priority * area)[keep].sum()),
        "caldi": int(hot[keep].sum()),
        "esagoni": int(keep.sum()),
        "minime": int(((sizes > 0) & (sizes <= min_cells)).sum()),
        "res_min": float(res.min()) if len(res) else float("nan"),
        "sotto_100": int((res < 100).sum()),
        "compatt": float(np.mean(inner)) if inner else float("nan"),
    }


def rank_labels(cells_zone: np.ndarray, order: list[int]) -> np.ndarray:
    """Relabel the product's zones (``cells_zone``: product rank per cell) by ``order``."""
    new = np.zeros(cells_zone.max() + 1, dtype=np.int64)
    for r, z in enumerate(order, start=1):
        new[z] = r
    return np.where(cells_zone > 0, new[cells_zone], 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=str(ROOT / "data" / "lanterna_massa-carrara.duckdb"))
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--res", type=int, default=9)
    args = ap.parse_args()
    filters = Filters(res=args.res, start=date(args.year, 1, 1), end=date(args.year, 12, 1))
    t0 = time.perf_counter()
    with Store(args.db, read_only=True) as store:
        prep = pilot.prepare(store, filters)
    print(f"Database {Path(args.db).name}, risoluzione {args.res}, anno {args.year}: "
          f"{len(prep.cells)} esagoni, preparazione {time.perf_counter() - t0:.1f} s")
    area = prep.table.base["area_km2"].to_numpy()
    residents = prep.table.base["residents"].to_numpy()
    hot = prep.hot["hotspot"].to_numpy() == hotspots.HOT
    adj = prep.adj.tocsr()
    min_cells = math.ceil(pilot.DEFAULT_MIN_KM2 / float(np.median(area)))
    print(f"Limiti: {pilot.DEFAULT_MIN_KM2}-{pilot.DEFAULT_MAX_KM2} km², candidati "
          f"{pilot.DEFAULT_CANDIDATE_SHARE:.0%}; esagoni caldi nel territorio: {int(hot.sum())}\n")
    header = f"{'profilo':<11} {'classifica':<14} {'massa':>8} {'caldi':>6} {'esagoni':>8} {'minime':>7} " \
             f"{'res. min':>9} {'<100 res.':>9} {'compatt.':>8}"
    print(header)
    print("-" * len(header))
    wins = {"massa": 0, "caldi": 0}
    for key in PRESETS:
        w = preset_weights(key)
        r = pilot.rank_zones(prep, w, draws=20)
        pr = r.hexes["priority"].to_numpy()
        lab = r.hexes["zone"].to_numpy()
        cand = r.hexes["candidate"].to_numpy()
        by_mean = r.zones.sort_values(["priority", "rank"], ascending=[False, True])["rank"].tolist()
        rows = {
            "media": rank_labels(lab, by_mean),
            "beneficio": lab,
            "greedy": baseline.greedy_zones(pr, area, prep.adj, min_km2=pilot.DEFAULT_MIN_KM2,
                                            max_km2=pilot.DEFAULT_MAX_KM2, n_zones=TOP, candidates=cand),
            "greedy libero": baseline.greedy_zones(pr, area, prep.adj, min_km2=pilot.DEFAULT_MIN_KM2,
                                                   max_km2=pilot.DEFAULT_MAX_KM2, n_zones=TOP),
        }
        figs = {name: top_figures(lab_, pr, area, hot, residents, min_cells, adj) for name, lab_ in rows.items()}
        for name, f in figs.items():
            print(f"{key:<11} {name:<14} {f['massa']:>8.1f} {f['caldi']:>6d} {f['esagoni']:>8d} {f['minime']:>7d} "
                  f"{f['res_min']:>9.0f} {f['sotto_100']:>9d} {f['compatt']:>8.2f}")
        for k in wins:
            wins[k] += figs["beneficio"][k] >= figs["greedy"][k]
        rel = r.zones.head(TOP)["harm_rate_reliability"].value_counts().to_dict()
        rel_all = r.zones["harm_rate_reliability"].value_counts().to_dict()
        print(f"{'':<11} affidabilità del tasso, prime {TOP}: {rel}; tutte le {len(r.zones)} zone: {rel_all}")
        print()
    n = len(PRESETS)
    print(f"Classifica per beneficio >= greedy con gli stessi limiti: massa {wins['massa']}/{n} profili, "
          f"esagoni caldi {wins['caldi']}/{n} profili.\n")

    # An absent layer: remove the confiscated assets and compare kept vs renormalised weights.
    scores = prep.table.scores.copy()
    scores["confiscated"] = 0.0
    avail = pd.DataFrame(True, index=scores.index, columns=list(INDICATOR_KEYS))
    avail["confiscated"] = False
    stale = dataclasses.replace(prep, table=dataclasses.replace(prep.table, scores=scores, available=None))
    fresh = dataclasses.replace(prep, table=dataclasses.replace(prep.table, scores=scores, available=avail))
    print("Strato assente (beni confiscati rimossi), profilo inclusione:")
    for name, p in (("peso mantenuto (prima)", stale), ("pesi ridistribuiti", fresh)):
        r = pilot.rank_zones(p, preset_weights("inclusione"), draws=20)
        top = r.hexes["zone"].to_numpy()
        f = top_figures(top, r.hexes["priority"].to_numpy(), area, hot, residents, min_cells, adj)
        print(f"  {name:<24} priorità massima {r.hexes['priority'].max():5.1f}, massa prime {TOP} {f['massa']:.1f}, "
              f"peso effettivo dei beni confiscati {r.params['weights_effective']['confiscated']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
