"""Benchmark of a whole province from national data: prints figures, asserts nothing.

For each province given (default: Roma and Torino, the largest by residents and by comuni), in a
fresh subprocess each so that the peak memory is the province's own:

1. ``create_territory`` (folder from the national data) and ``build_demo`` (database): seconds,
   and the process's peak resident memory (``ru_maxrss``);
2. the default map of *Mappa integrata* (whole province, automatic resolution, last 12 months,
   role *osservatore*, default point layers): metrics + map build + HTML render seconds and
   payload size; a filter change (night time band) the same way;
3. *Zone pilota*: ``prepare`` (indicators, Gi*, emerging hot spots) and ``rank_zones`` at
   resolution 9;
4. *Illuminazione*: ``lighting_need`` + ``build_candidates`` + ``optimise`` for 1 M€ at
   resolution 9.

Targets (issue 12): folder + demo ≤ 60 s, map ≤ 3 s and ≤ 1.5 MB, filter change ≤ 1 s, hot
spots and zones ≤ 2 s, lighting plan ≤ 2 s, peak memory ≤ 4 GB. The machine is shared: figures
are upper bounds.

Usage: ``python scripts/bench_territory.py [RM TO ...] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_LAYERS = ("schools", "services", "confiscated")
ROLE = "osservatore"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(sigla: str, workdir: Path, *, reuse: bool = False) -> dict:
    """Every measure for one province, in this process. Figures are also written to
    ``<workdir>/<sigla>.json`` after each step, so that a failure keeps what was measured;
    ``reuse`` keeps an existing database (build not measured again)."""
    from geo.data import hexgrid
    from geo.data.filters import Filters
    from geo.data.storage import close_all, open_store
    from geo.data.territory_builder import create_territory
    from geo.demo.build import build_demo
    from geo.lighting.need import lighting_need
    from geo.lighting.plan import PlanOptions, build_candidates, optimise
    from geo.maps import layers as maps
    from geo.overview import metrics
    from geo.overview.trends import add_months
    from geo.zones import pilot as zones
    from geo.zones.priority import DEFAULT_PRESET, preset_weights

    out: dict = {"provincia": sigla}
    partial = workdir / f"{sigla.lower()}.json"

    def save() -> None:
        partial.write_text(json.dumps(out), encoding="utf-8")

    db = workdir / f"{sigla.lower()}.duckdb"
    if reuse and db.exists() and partial.exists():
        out.update({k: v for k, v in json.loads(partial.read_text()).items()
                    if k in ("folder_s", "demo_s", "peak_build_mb", "cells", "comuni", "incident_rows")})
    else:
        t0 = time.perf_counter()
        created = create_territory(sigla, workdir / sigla.lower(), overwrite=True)
        out["folder_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        summary = build_demo(created.folder, path=db, force=True)
        out["demo_s"] = time.perf_counter() - t1
        out["peak_build_mb"] = _peak_mb()
        out["cells"] = summary["counts"]["cells"]
        out["comuni"] = summary["counts"]["comuni"]
        out["incident_rows"] = summary["counts"]["incidents"]
        save()
        close_all()

    store = open_store(workdir / f"{sigla.lower()}.duckdb")
    first, last = store.period()
    area = float(store.comuni()["area_km2"].sum())
    filters = Filters(res=hexgrid.suggest_resolution(area), start=max(first, add_months(last, -11)), end=last)
    comuni = store.comuni_geometries()
    points = {k: store.points(maps.POINT_LAYERS[k].table) for k in DEFAULT_LAYERS}

    def draw(f: Filters) -> tuple[float, int]:
        started = time.perf_counter()
        frame = metrics.hex_metrics(store, f, include_private_services=False)
        html = maps.build_map(frame, role=ROLE, comuni=comuni, points=points).get_root().render()
        return time.perf_counter() - started, len(html.encode())

    out["map_res"] = filters.res
    out["map_s"], out["map_bytes"] = draw(filters)
    out["filter_s"], out["filter_bytes"] = draw(dataclasses.replace(filters, time_band="notte"))
    save()

    zf = dataclasses.replace(filters, res=9)
    t = time.perf_counter()
    prep = zones.prepare(store, zf)
    out["zones_prepare_s"] = time.perf_counter() - t
    t = time.perf_counter()
    result = zones.rank_zones(prep, preset_weights(DEFAULT_PRESET))
    out["zones_rank_s"] = time.perf_counter() - t
    out["zones"] = len(result.zones)
    save()

    t = time.perf_counter()
    need = lighting_need(store, res=9, start=filters.start, end=filters.end)
    cands = build_candidates(need)
    t_cand = time.perf_counter()
    plan = optimise(cands, PlanOptions(budget=1e6))
    out["lighting_need_s"] = t_cand - t
    out["lighting_optimise_s"] = time.perf_counter() - t_cand
    out["lighting_candidates"] = len(cands)
    out["lighting_chosen"] = len(plan.selected)
    out["peak_total_mb"] = _peak_mb()
    save()
    close_all()
    return out


def report(r: dict) -> None:
    ok = lambda v, limit: "ok" if v <= limit else "OLTRE"  # noqa: E731
    build = r["folder_s"] + r["demo_s"]
    zones_s = r["zones_prepare_s"] + r["zones_rank_s"]
    light_s = r["lighting_need_s"] + r["lighting_optimise_s"]
    print(f"== {r['provincia']}: {r['comuni']} comuni, {r['cells']:,} celle res 10, "
          f"{r['incident_rows']:,} righe delitti")
    print(f"  folder {r['folder_s']:.1f} s + demo {r['demo_s']:.1f} s = {build:.1f} s (target 60: {ok(build, 60)})")
    print(f"  peak memory: build {r['peak_build_mb']:.0f} MB, whole run {r['peak_total_mb']:.0f} MB "
          f"(target 4096: {ok(r['peak_total_mb'], 4096)})")
    print(f"  default map (res {r['map_res']}): {r['map_s']:.2f} s, {r['map_bytes'] / 1e6:.2f} MB "
          f"(targets 3 s: {ok(r['map_s'], 3)}, 1.5 MB: {ok(r['map_bytes'] / 1e6, 1.5)})")
    print(f"  filter change: {r['filter_s']:.2f} s (target 1: {ok(r['filter_s'], 1)})")
    print(f"  hot spots + zones (res 9): prepare {r['zones_prepare_s']:.2f} s + rank {r['zones_rank_s']:.2f} s "
          f"= {zones_s:.2f} s, {r['zones']} zones (target 2: {ok(zones_s, 2)})")
    print(f"  lighting (res 9): need + candidates {r['lighting_need_s']:.2f} s + optimise "
          f"{r['lighting_optimise_s']:.2f} s = {light_s:.2f} s, {r['lighting_candidates']:,} candidates "
          f"(target 2: {ok(light_s, 2)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("province", nargs="*", default=["RM", "TO"])
    parser.add_argument("--keep", type=Path, default=None, help="folder for territories and databases")
    parser.add_argument("--reuse", action="store_true", help="keep a database built by an earlier run")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child process
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-territory-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.one:
        print(json.dumps(run_one(args.province[0], workdir, reuse=args.reuse)))
        return
    for sigla in args.province:
        cmd = [sys.executable, __file__, sigla, "--one", "--keep", str(workdir)] + (["--reuse"] if args.reuse else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode:
            partial = workdir / f"{sigla.lower()}.json"
            print(f"== {sigla}: errore\n{proc.stderr[-3000:]}")
            if partial.exists():
                print(f"  misure fino all'errore: {partial.read_text()}")
            continue
        report(json.loads(proc.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    main()
