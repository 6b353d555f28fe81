"""Benchmark: point-level incidents → stored H3 aggregates, against a naive GeoPandas baseline.

For each size (default 1M and 10M points) it runs, each in its own process so that peak memory is
measured separately:

* ``lanterna``: :func:`geo.data.aggregate.write_incident_points` — bulk H3 indexing with the numpy
  integer API over every core, integer codes in numpy, the group-by and the insert inside DuckDB,
  in one transaction;
* ``baseline``: GeoPandas points → spatial join with the resolution-10 hexagon polygons of the
  territory → pandas group-by → the same DuckDB write.

It prints points per second, peak resident memory and the ratio. Figures, not a test:
``python scripts/bench_aggregate.py [--sizes 1000000 10000000] [--baseline-max 10000000]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_points(n: int, seed: int = 7):
    """``n`` synthetic events inside the territory: around its cells, weighted by residents."""
    import numpy as np
    import pandas as pd

    from geo.data import hexgrid
    from geo.data.loader import territory_cells
    from geo.data.population import dasymetric_population
    from geo.data.schemas import INCIDENT_CATEGORIES
    from geo.data.territory import load_territory

    t = load_territory()
    cells = territory_cells(t)
    w = dasymetric_population(cells, t.population, t.localities, metric_crs=t.metric_crs).to_numpy() + 0.01
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(cells), size=n, p=w / w.sum())
    lat_c, lon_c = hexgrid.cell_centers(cells["cell"].to_numpy())
    # jitter within about 50 m of the cell centre (the cell's inradius is ~ 65 m)
    lat = lat_c[pick] + rng.uniform(-0.00045, 0.00045, n)
    lon = lon_c[pick] + rng.uniform(-0.0006, 0.0006, n)
    start = np.datetime64("2019-01-01T00:00")
    minutes = rng.integers(0, 6 * 365 * 24 * 60, n)
    when = start + minutes.astype("timedelta64[m]")
    # categories as a pandas Categorical (int8 codes), as a reader of a large export would hold them
    cats = pd.Categorical.from_codes(rng.integers(0, len(INCIDENT_CATEGORIES), n), categories=list(INCIDENT_CATEGORIES))
    outdoor = rng.random(n) < 0.5
    return lat, lon, when, cats, outdoor


def _store_copy(tmp: Path):
    from geo.data.loader import load_territory_into_store
    from geo.data.storage import Store
    from geo.data.territory import load_territory

    store = Store(tmp / "bench.duckdb")
    load_territory_into_store(store, load_territory())
    return store


def run_lanterna(n: int) -> dict:
    from geo.data.aggregate import write_incident_points

    lat, lon, when, cats, outdoor = make_points(n)
    with tempfile.TemporaryDirectory() as tmp:
        store = _store_copy(Path(tmp))
        t0 = time.perf_counter()
        with store.transaction() as cur:
            rows = write_incident_points(cur, lat, lon, when, cats, outdoor=outdoor, synthetic=True, source="bench")
        elapsed = time.perf_counter() - t0
        total = int(store.query("SELECT sum(count) AS n FROM incidents")["n"].iloc[0])
        store.close()
    assert total == n, (total, n)
    return {"seconds": elapsed, "rows": rows, "total": total}


def run_baseline(n: int) -> dict:
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from geo.data import hexgrid, schemas
    from geo.data.storage import Store

    lat, lon, when, cats, outdoor = make_points(n)
    with tempfile.TemporaryDirectory() as tmp:
        store = _store_copy(Path(tmp))
        hexes = hexgrid.cells_frame(store.query("SELECT cell FROM cells")["cell"].to_numpy())
        t0 = time.perf_counter()
        pts = gpd.GeoDataFrame(
            {"when": when, "category": cats, "outdoor": outdoor}, geometry=gpd.points_from_xy(lon, lat), crs=4326
        )
        joined = gpd.sjoin(pts, hexes, how="inner", predicate="within")
        hour = joined["when"].dt.hour
        night = (hour >= schemas.NIGHT_START_HOUR) | (hour < schemas.NIGHT_END_HOUR)
        joined["time_band"] = np.where(night, "notte", "giorno")
        joined["month"] = joined["when"].dt.to_period("M").dt.to_timestamp().dt.date
        agg = (
            joined.groupby(["cell", "month", "category", "time_band", "outdoor"], observed=True)
            .size()
            .rename("count")
            .reset_index()
        )
        agg = agg.assign(synthetic=True, source="bench", import_id=None)
        with store.transaction() as cur:
            Store.write_frame(cur, "incidents", pd.DataFrame(agg))
        elapsed = time.perf_counter() - t0
        total = int(store.query("SELECT sum(count) AS n FROM incidents")["n"].iloc[0])
        store.close()
    return {"seconds": elapsed, "rows": len(agg), "total": total}


def _child(kind: str, n: int) -> None:
    result = (run_lanterna if kind == "lanterna" else run_baseline)(n)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _measure(kind: str, n: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(n)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--baseline-max", type=int, default=10_000_000,
                   help="largest size the (slow) baseline is run on")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return
    print("Point-level incidents -> stored H3 aggregates (res 10), 2-core machine")
    print(f"{'points':>12} {'method':<10} {'seconds':>8} {'points/s':>12} {'peak RSS':>10} {'agg rows':>10}")
    for n in args.sizes:
        ours = _measure("lanterna", n)
        rows = [("lanterna", ours)]
        base = None
        if n <= args.baseline_max:
            base = _measure("baseline", n)
            rows.append(("baseline", base))
        for name, r in rows:
            print(f"{n:>12,} {name:<10} {r['seconds']:>8.2f} {n / r['seconds']:>12,.0f} "
                  f"{r['peak_rss_mb']:>8,.0f}MB {r['rows']:>10,}")
        if base:
            print(f"{'':>12} ratio      {base['seconds'] / ours['seconds']:>8.1f}x faster than the baseline; "
                  f"baseline kept {base['total']:,} of {n:,} points (hexagon edges)")


if __name__ == "__main__":
    main()
