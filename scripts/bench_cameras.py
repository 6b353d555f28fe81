"""Benchmark of the camera placement (issue 18): MILP (HiGHS) against brute force on small random
instances and against the greedy heuristic on the demo territory; the time of the coverage by
family x time band and of the pilot zones; the access roads found from the cell-based road layer
against the exact boundary crossings of straight roads between the territory's localities.
Prints figures; run with ``.venv/bin/python scripts/bench_cameras.py``."""

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
from geo.data import hexgrid
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


def groups_and_zones() -> None:
    from geo.cameras.analysis import pilot_zone_coverage, pilot_zones

    with Store(config.db_path(config.DEFAULT_TERRITORY), read_only=True) as store:
        terr = territory_of_store(store)
        t0 = time.perf_counter()
        analysis = analyse(store, terr.metric_crs, role="comune")
        t1 = time.perf_counter()
        zones = pilot_zones(store)
        t2 = time.perf_counter()
        zc = pilot_zone_coverage(zones, analysis, terr.metric_crs)
        t3 = time.perf_counter()
    g = analysis.by_group
    print(f"Copertura (ruolo comune, 12 gruppi famiglia x fascia): {t1 - t0:.1f} s; quota coperta per gruppo "
          f"{g['share'].min():.3f}-{g['share'].max():.3f}; zone pilota ({len(zones)}): delimitazione {t2 - t1:.1f} s, "
          f"copertura {t3 - t2:.2f} s, quota coperta media {zc['share'].mean():.3f}")


def access_roads() -> None:
    """Straight roads from each locality to its two nearest localities of another comune (within
    8 km), measured per cell as the importer does; exact crossings by sampling every 10 m."""
    import numpy as np
    import pandas as pd
    import pyproj
    import shapely

    from geo.cameras import roads
    from geo.cameras.inventory import load_cameras
    from geo.ingest.importers import road_lengths

    with Store(config.db_path(config.DEFAULT_TERRITORY), read_only=True) as store:
        terr = territory_of_store(store)
        loc = terr.localities.to_crs(terr.metric_crs)
        comuni = terr.comuni.to_crs(terr.metric_crs)
        loc = loc[loc["pro_com_t"].notna()].reset_index(drop=True)
        xy = np.column_stack([loc.geometry.x, loc.geometry.y])
        pairs = set()
        for i in range(len(loc)):
            d = np.hypot(*(xy - xy[i]).T)
            other = np.flatnonzero((loc["pro_com_t"].to_numpy() != loc["pro_com_t"].iat[i]) & (d < 8_000))
            for j in other[np.argsort(d[other])][:2]:
                pairs.add((min(i, int(j)), max(i, int(j))))
        lines = [shapely.LineString([xy[i], xy[j]]) for i, j in sorted(pairs)]
        t0 = time.perf_counter()
        lengths, _ = road_lengths(np.asarray(lines, dtype=object), np.full(len(lines), "primary", dtype=object),
                                  crs=pyproj.CRS.from_user_input(terr.metric_crs), store=store,
                                  metric_crs=terr.metric_crs)
        lengths["pro_com_t"] = store.cell_lookup(lengths["cell"].to_numpy()).to_numpy()
        acc = roads.access_points(lengths)
        cams = load_cameras(store)
        out = roads.reading_gaps(acc, cams, terr.metric_crs, role="prefettura")
        t1 = time.perf_counter()
    # exact crossings: where consecutive 10 m samples of a line fall in different comuni
    crossings = []
    tree = shapely.STRtree(comuni.geometry.to_numpy())
    for line in lines:
        pts = shapely.points(shapely.get_coordinates(shapely.segmentize(line, 10.0)))
        hit = tree.query(pts, predicate="within")
        label = pd.Series(comuni["pro_com_t"].to_numpy()[hit[1]], index=hit[0]).reindex(range(len(pts)))
        lab = label.to_numpy()
        change = np.flatnonzero((lab[1:] != lab[:-1]) & pd.notna(lab[1:]) & pd.notna(lab[:-1]))
        crossings.extend(shapely.get_coordinates(pts[change]))
    crossings = np.asarray(crossings)
    cx, cy = pyproj.Transformer.from_crs(terr.metric_crs, 4326, always_xy=True).transform(*crossings.T)
    ccell = hexgrid.points_to_cells(np.asarray(cy), np.asarray(cx), 10)
    in_access = np.unique(np.concatenate([*acc["cells"]])) if len(acc) else np.zeros(0, dtype=np.int64)
    ring = np.unique(np.concatenate([hexgrid.neighbours(int(c), 1) for c in in_access])) if len(acc) else in_access
    found = np.isin(ccell, ring).mean()
    per_access = [int(np.isin(ccell, c).sum() + 0) for c in acc["cells"]]
    distinct = len(np.unique(ccell))
    print(f"Accessi stradali: {len(lines)} strade rettilinee tra località, {len(crossings)} attraversamenti esatti "
          f"di confini comunali in {distinct} celle distinte; {len(acc)} accessi trovati dalle celle "
          f"({t1 - t0:.2f} s con la copertura); attraversamenti nelle celle di un accesso o adiacenti {found:.3f}; "
          f"attraversamenti per accesso: mediana {np.median(per_access):.0f}, massimo {max(per_access, default=0)}; "
          f"accessi coperti da lettura targhe (telecamere demo) {int(out['covered'].sum())}")


if __name__ == "__main__":
    small()
    demo()
    groups_and_zones()
    access_roads()
