"""Utility and safety of the disclosure control (issue 11), printed side by side.

    .venv/bin/python scripts/bench_disclosure.py [--db FILE] [--year 2024] [--secrets 3]

Builds the demo database when ``--db`` is not given (about 25 s). Prints:

* the public p-table;
* utility: relative error of the published counts by size band over every view of the attack
  (hexagons at resolutions 7-10 for the territory and each comune, KPI and trend totals), and the
  share of hexagons with incidents shown as a number (all of them: nothing is withheld) against
  the share the old threshold suppression showed;
* the attacker (:mod:`geo.access.disclosure_audit`, integer bound propagation over all the
  views: the year, its halves, all categories / one category / the others, all hours / day /
  night, the monthly totals of the trends), for several record-key secrets: exact recoveries of
  counts 1-2 and the interval widths, against plain suppression on the same views.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.access import disclosure, disclosure_audit
from geo.data.storage import CELL_KEY_SECRET_ENV, Store

BANDS = [(1, 2), (3, 9), (10, 49), (50, 199), (200, 999), (1000, None)]


def utility(nodes: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for lo, hi in BANDS:
        sel = (nodes["true"] >= lo) & ((nodes["true"] <= hi) if hi else True)
        part = nodes[sel]
        if part.empty:
            continue
        err = (part["published"] - part["true"]).abs() / part["true"]
        rows.append({"band": f"{lo}-{hi}" if hi else f">= {lo}", "counts": len(part),
                     "mean_rel_err_%": round(100 * err.mean(), 2), "p95_rel_err_%": round(100 * err.quantile(0.95), 2),
                     "max_rel_err_%": round(100 * err.max(), 2),
                     "mean_abs_err": round((part["published"] - part["true"]).abs().mean(), 2)})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--secrets", type=int, default=3)
    args = parser.parse_args()
    pd.set_option("display.width", 160)

    tmp = None
    path = args.db
    if path is None:
        from geo.demo.build import build_demo

        tmp = tempfile.TemporaryDirectory()
        path = Path(tmp.name) / "demo.duckdb"
        t0 = time.perf_counter()
        build_demo(path=path)
        print(f"demo built in {time.perf_counter() - t0:.1f} s")

    print("\n== public p-table (threshold", disclosure.threshold(), ", max noise", disclosure.MAX_NOISE, ")")
    table = disclosure.ptable().pivot(index="true", columns="published", values="probability")
    print(table.round(3).astype(object).where(table.notna(), ""))

    slices = disclosure_audit.demo_slices(args.year)
    print(f"\n== views: {len(slices)} slices of {args.year}")
    attack_rows = []
    for k in range(args.secrets):
        os.environ[CELL_KEY_SECRET_ENV] = f"bench-secret-{k}"
        with Store(path, read_only=True) as store:
            t0 = time.perf_counter()
            views = disclosure_audit.build_views(store, slices, role="regione")
            built = time.perf_counter() - t0
        nodes = views.nodes
        if k == 0:
            print(f"{len(nodes):,} view cells, {sum(len(r[0]) for r in views.relations):,} equalities "
                  f"(built in {built:.1f} s)")
            print("\n== utility: relative error of the published counts (|published - true| / true)")
            print(utility(nodes).to_string(index=False))
            hexes = nodes[(nodes["res"] > 0) & (nodes["true"] > 0)]
            small = (hexes["true"] < disclosure.threshold()).mean()
            print(f"\nhexagon view cells with incidents: {len(hexes):,}; shown as a number: 100 % "
                  f"(cell-key) vs {100 * (1 - small):.1f} % under threshold suppression "
                  f"({100 * small:.1f} % were '< 3'; complementary suppression hid more)")
            for res in (7, 8, 9, 10):
                part = hexes[hexes["res"] == res]
                print(f"  res {res}: {len(part):,} hexagon views with incidents, "
                      f"{100 * (part['true'] < disclosure.threshold()).mean():.1f} % of them 1-2")
        t0 = time.perf_counter()
        prot = disclosure_audit.attack(views)
        t_prot = time.perf_counter() - t0
        base = disclosure_audit.attack(views, baseline=True) if k == 0 else None
        for name, res in (("cell-key", prot), ("plain suppression", base)):
            if res is None:
                continue
            w = res.widths
            attack_rows.append({"secret": k, "protection": name, "small_counts": res.small,
                                "exact_recoveries": res.exact, "wrong": res.wrong,
                                "width_min": int(w.min()), "width_median": float(w.median()),
                                "width_<=1_%": round(100 * float((w <= 1).mean()), 2),
                                "width_>=3_%": round(100 * float((w >= 3).mean()), 2),
                                "solve_s": round(t_prot, 1) if name == "cell-key" else None})
    print("\n== attacker: integer bound propagation over every view")
    print(pd.DataFrame(attack_rows).to_string(index=False))
    widths = np.bincount(prot.widths.to_numpy())
    print("\ninterval widths of the small counts (last secret):",
          {int(i): int(n) for i, n in enumerate(widths) if n})
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
