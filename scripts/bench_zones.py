"""Benchmark of the pilot zones on 10,000 hexagons (issue 4 targets; figures, not a test).

Synthetic territory: the 10,000 resolution-9 hexagons nearest to a point of Massa (≈ 1,050 km²),
with indicator inputs shaped like a coastal province (a few dense towns, sparse countryside) and
36 months of incidents. It times:

* ``re-rank``: new weights → hexagon priorities → scores of the (fixed) zones → ranking
  (target < 200 ms);
* ``delineation``: :func:`geo.zones.pilot.delineate_zones` (target < 1 s);
* ``robustness``: 200 Monte-Carlo draws of the weights (:func:`geo.zones.pilot.robustness`) plus the
  perimeter stability and the Borda consensus (target < 5 s);
* for information, the whole :func:`geo.zones.pilot.rank_zones` (zones, cards, robustness) and the
  weight-independent preparation (Gi*, emerging hot spots).

With ``--db PATH`` it also times :func:`geo.zones.pilot.prepare` and :func:`geo.zones.pilot.rank_zones` on a
real database (e.g. the demo) at resolution 9. Usage::

    python scripts/bench_zones.py [--repeat 5] [--db data/lanterna_massa-carrara.duckdb]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import h3.api.numpy_int as h3n  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from geo import hexgrid, hotspots, indicators, zones  # noqa: E402
from geo.data.filters import Filters  # noqa: E402
from geo.zones.priority import PRESETS, preset_weights  # noqa: E402

N_CELLS = 10_000
MONTHS = 36


def synthetic_territory(n: int = N_CELLS, seed: int = 42) -> zones.Prepared:
    """A :class:`geo.zones.pilot.Prepared` for ``n`` hexagons with synthetic inputs."""
    rng = np.random.default_rng(seed)
    centre = h3n.latlng_to_cell(44.035, 10.14, 9)
    disk = np.array(h3n.grid_disk(centre, 60), dtype=np.int64)
    dist = np.array([h3n.grid_distance(centre, int(c)) for c in disk])
    cells = np.sort(disk[np.lexsort((disk, dist))][:n])
    lat, lon = hexgrid.cell_centers(cells)
    towns = rng.choice(n, 12, replace=False)
    density = np.zeros(n)
    for t in towns:
        d = np.hypot((lat - lat[t]) * 111, (lon - lon[t]) * 80)
        density += rng.uniform(0.3, 1.0) * np.exp(-((d / rng.uniform(0.8, 2.5)) ** 2))
    area = np.full(n, hexgrid.cell_area_km2(9))
    residents = np.round(density * 1500 * rng.random(n))
    rate = 0.02 + 0.1 * density
    history = rng.poisson(rate[:, None] * (1 + 0.3 * np.sin(np.arange(MONTHS) / 12 * 2 * np.pi))[None, :] * 3)
    incidents = history[:, -12:].sum(axis=1).astype(float)
    base = pd.DataFrame({
        "pro_com_t": "045010", "residents": residents, "area_km2": area,
        "settled_km2": np.where(residents > 0, area, 0.0), "incidents": incidents,
        "harm": incidents * rng.uniform(1, 4, n), "night": np.round(incidents * rng.uniform(0.2, 0.6, n)),
        "reports_open": rng.poisson(density * 3), "reports_open_severity": rng.poisson(density * 6),
        "lights": rng.poisson(density * 60), "lights_broken": rng.poisson(density * 3),
        "lights_old": rng.poisson(density * 10), "schools": rng.poisson(density * 0.3),
        "services": rng.poisson(density * 0.02), "homeless_reports": rng.poisson(density * 0.5),
        "confiscated_reuse": rng.poisson(density * 0.02), "service_km": rng.uniform(0, 15, n),
    }, index=pd.Index(cells, name="cell"))
    base["lights_broken"] = np.minimum(base["lights_broken"], base["lights"])
    raw = indicators.compute_indicators(base, months=12)
    table = indicators.IndicatorTable(base=base, raw=raw, scores=indicators.normalise(raw), months=12)
    rows, cols = hexgrid.adjacency_pairs(cells)
    w = hotspots.contiguity_weights(cells, pairs=(rows, cols))
    t0 = time.perf_counter()
    hot = hotspots.gi_star(cells, incidents, w=w)
    t1 = time.perf_counter()
    ehsa = hotspots.emerging_hotspots(cells, history.astype(float), freq="Q", w=w)
    t2 = time.perf_counter()
    print(f"  preparation: Gi* {1000 * (t1 - t0):.0f} ms; emerging hot spots ({MONTHS // 3} quarters + "
          f"Mann-Kendall) {1000 * (t2 - t1):.0f} ms; {int((hot['hotspot'] == 'caldo').sum())} hot hexagons")
    months = [date(2022 + m // 12, m % 12 + 1, 1) for m in range(MONTHS)]
    empty = pd.DataFrame({"cell": pd.Series(dtype="int64")})
    return zones.Prepared(
        filters=Filters(res=9), cells=cells, lat=lat, lon=lon, table=table, hot=hot, ehsa=ehsa, months=months,
        history=history.astype(float), adj_rows=rows, adj_cols=cols, xy=zones.planar_km(cells),
        comuni={"045010": "Massa"},
        schools=empty.assign(name=pd.Series(dtype=str), level=pd.Series(dtype=str)),
        services=empty.assign(name=pd.Series(dtype=str), public=pd.Series(dtype=bool),
                              lat=pd.Series(dtype=float), lon=pd.Series(dtype=float)),
        reports=empty.assign(category=pd.Series(dtype=str), severity=pd.Series(dtype=float)),
        confiscated=empty.assign(reusable=pd.Series(dtype=bool)),
        period=(months[-12], months[-1]),
    )


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median wall time (s) over ``repeat`` runs, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def bench_synthetic(repeat: int) -> None:
    print(f"Synthetic territory: {N_CELLS:,} resolution-9 hexagons".replace(",", "."))
    prep = synthetic_territory()
    scores = prep.table.scores
    area = prep.table.base["area_km2"].to_numpy()
    adj = prep.adj
    w0 = preset_weights("bilanciato")
    prio0 = scores.to_numpy() @ w0.to_numpy() * 100
    t_del, labels = timed(lambda: zones.delineate_zones(prep.cells, prio0, area, adj=adj, xy=prep.xy), repeat)
    n_zones = len(set(labels.tolist()) - {-1})

    w1 = preset_weights("sicurezza")

    def rerank():
        prio = scores.to_numpy() @ w1.to_numpy() * 100
        zs = zones.zone_indicator_scores(labels, scores, area)
        zprio = zs.to_numpy() @ w1.to_numpy() * 100
        return prio, np.argsort(-zprio, kind="stable")

    t_rerank, _ = timed(rerank, repeat)
    zs = zones.zone_indicator_scores(labels, scores, area)

    def robust():
        rob = zones.robustness(zs, w0, top=10, draws=200, seed=1)
        foot = zones.footprint_stability(scores, labels, w0, draws=200, seed=1)
        borda = zones.borda_consensus(zs, top=10)
        return rob, foot, borda

    t_rob, _ = timed(robust, repeat)
    t_full, result = timed(lambda: zones.rank_zones(prep, w1, seed=1), max(1, repeat // 2))
    print(f"  re-rank after a weight change: {1000 * t_rerank:8.1f} ms   (target < 200 ms)")
    print(f"  zone delineation:              {1000 * t_del:8.1f} ms   (target < 1000 ms; {n_zones} zones)")
    print(f"  robustness, 200 draws:         {1000 * t_rob:8.1f} ms   (target < 5000 ms; Monte Carlo + perimeter "
          f"+ Borda over {len(PRESETS)} presets)")
    print(f"  whole rank_zones:              {1000 * t_full:8.1f} ms   ({len(result.zones)} zones with cards and "
          "robustness)")


def bench_db(path: Path, repeat: int) -> None:
    from geo.data.storage import Store

    with Store(path, read_only=True) as store:
        filters = Filters(res=9)
        t_prep, prep = timed(lambda: zones.prepare(store, filters), 1)
    print(f"Database {path.name}: {len(prep.cells):,} resolution-9 hexagons".replace(",", "."))
    print(f"  prepare (indicators, Gi*, EHSA, layers): {1000 * t_prep:8.1f} ms")
    for key in PRESETS:
        t, result = timed(lambda key=key: zones.rank_zones(prep, preset_weights(key)), repeat)
        print(f"  rank_zones «{key}»: {1000 * t:8.1f} ms ({len(result.zones)} zones)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--db", type=Path, default=None, help="also time a real database")
    args = parser.parse_args()
    bench_synthetic(args.repeat)
    if args.db:
        bench_db(args.db, args.repeat)


if __name__ == "__main__":
    main()
