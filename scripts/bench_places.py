"""Benchmark of place names (geo.overview.places) and of the stable zone ids (geo.zones.naming).

On a demo database (built with ``python -m geo demo``):

* time to name every hexagon of the territory at resolutions 8, 9 and 10, and the share of
  hexagons that are "presso" a locality (beyond its reach) or named after their comune only;
* stability of the zone ids across the weight presets: for each pair of presets, the zones of
  one matched to the zone of the other that overlaps it most (Jaccard index of their hexagons
  >= 0.5); the share of matched pairs with the same id, against the share the old rank names
  ("Z01"...) would have had.

    .venv/bin/python scripts/bench_places.py [--db data/lanterna_massa-carrara.duckdb] [--comune 045010]

Measured (demo Massa-Carrara, 2026-12-03, 2 shared CPUs under load): 547 naming localities;
1.661 / 11.001 / 75.309 hexagons named in 0,35 / 0,49 / 2,2 s at resolution 8 / 9 / 10 (0,9 s at
resolution 10 on an idle machine); 23-26 % "presso" (median distance 830-900 m); no hexagon named
after its comune only. Zones of Massa under the 4 presets: 26 matched pairs, 77 % keep their id
(the rank names kept 69 %); the 2 identical zones keep it in every case; ids unique in every ranking.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo import config
from geo.access.privacy import format_decimal, format_int, format_percent
from geo.data.filters import Filters
from geo.data.storage import Store
from geo.overview import places
from geo.zones import pilot
from geo.zones.priority import PRESETS, preset_weights


def bench_names(store: Store) -> None:
    loc = places.localities_of(store)
    print(f"Località che danno il nome: {format_int(len(loc))}")
    for res in (8, 9, 10):
        ctx = store.cell_context(res)
        codes = ctx["pro_com_t"].to_numpy(dtype=object)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            found = places.locate(store, ctx["cell"].to_numpy(), comuni=codes, localities=loc)
            times.append(time.perf_counter() - t0)
        near = found["place"].str.startswith(places.NEAR_PREFIX).mean()
        only_comune = found["locality"].isna().mean()
        print(f"risoluzione {res}: {format_int(len(found))} esagoni in {format_decimal(min(times), 3)} s "
              f"(migliore di 3); «presso»: {format_percent(near, 1)}; "
              f"solo il comune: {format_percent(only_comune, 1)}; "
              f"distanza mediana {format_int(found['distance_m'].median())} m")


def bench_ids(store: Store, comune: str | None) -> None:
    prep = pilot.prepare(store, Filters(res=9, comuni=(comune,) if comune else ()))
    results = {k: pilot.rank_zones(prep, preset_weights(k), draws=20) for k in PRESETS}
    matched = same_id = same_rank_name = exact = exact_same = 0
    for a, b in itertools.permutations(PRESETS, 2):
        za, zb = results[a].zones, results[b].zones
        sb = [set(c) for c in zb["cells"]]
        for cells, zid, rank in zip(za["cells"], za["zone"], za["rank"], strict=True):
            x = set(cells)
            jac = [len(x & y) / len(x | y) for y in sb]
            j = max(range(len(sb)), key=jac.__getitem__)
            if jac[j] >= 0.5:
                matched += 1
                same_id += zid == zb["zone"].iloc[j]
                same_rank_name += rank == zb["rank"].iloc[j]
            if jac[j] == 1.0:
                exact += 1
                exact_same += zid == zb["zone"].iloc[j]
    n = sum(len(r.zones) for r in results.values())
    print(f"Zone ({len(PRESETS)} profili, {format_int(n)} zone in tutto): {format_int(matched)} coppie di zone "
          f"corrispondenti (Jaccard >= 0,5) tra profili")
    if matched:
        print(f"  stesso id: {format_percent(same_id / matched, 0)}; stesso nome con i ranghi (Z01...): "
              f"{format_percent(same_rank_name / matched, 0)}")
    print(f"  zone identiche: {format_int(exact)}, con lo stesso id: {format_int(exact_same)}")
    unique = all(r.zones["zone"].is_unique for r in results.values())
    print(f"  id unici in ogni classifica: {'sì' if unique else 'no'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(config.db_path()))
    parser.add_argument("--comune", default="045010", help="ISTAT code of the comune for the zones ('' = all)")
    args = parser.parse_args()
    with Store(args.db, read_only=True) as store:
        bench_names(store)
        bench_ids(store, args.comune or None)


if __name__ == "__main__":
    main()
