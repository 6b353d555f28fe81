"""Benchmark of the CPOSP dossier (geo.dossier.build): time to build it and to print it to PDF,
for a cleared role (Prefettura: every section) and the Osservatore (four sections), against the
baseline the dossier replaces: the three separate printable exports of Zone pilota, Illuminazione
and Agenda for the same role, made one after the other.

    .venv/bin/python scripts/bench_dossier.py [--db data/lanterna_massa-carrara.duckdb]

Prints seconds, sizes (HTML characters, PDF bytes, PDF pages) and the ratio dossier / baseline.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from weasyprint import HTML
from weasyprint.urls import URLFetcher

from geo import config
from geo.access.permissions import User
from geo.access.privacy import format_decimal, format_int
from geo.data.filters import Filters
from geo.data.storage import Store
from geo.dossier.build import DossierOptions, _lighting_section, build_dossier, pdf_bytes
from geo.reports import workflow as reports
from geo.zones import pilot
from geo.zones import report as zone_report
from geo.zones.priority import preset_weights


def baseline(store: Store, actor: User) -> float:
    """The three exports a CPOSP member had to make before the dossier (same settings)."""
    t = time.perf_counter()
    options = DossierOptions()
    prep = pilot.prepare(store, Filters(res=pilot.DEFAULT_RES))
    result = pilot.rank_zones(prep, preset_weights(options.preset), top=options.top_zones)
    zone_report.summary_html(result, role=actor.role, top=options.top_zones, comuni=store.comuni_geometries())
    names = dict(zip(store.comuni()["pro_com_t"], store.comuni()["nome"], strict=True))
    _lighting_section(store, actor.role, options, names)
    reports.agenda(store, actor)
    return time.perf_counter() - t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=config.db_path())
    args = parser.parse_args()
    with Store(args.db, read_only=True) as store:
        print(f"{'ruolo':<12} {'dossier s':>10} {'PDF s':>8} {'HTML car.':>10} {'PDF byte':>10} {'pagine':>7} "
              f"{'3 export s':>11} {'rapporto':>9}")
        for role in ("prefettura", "osservatore"):
            actor = User(f"bench-{role}", role)
            t = time.perf_counter()
            dossier = build_dossier(store, actor)
            built = time.perf_counter() - t
            t = time.perf_counter()
            pdf = pdf_bytes(dossier.html)
            printed = time.perf_counter() - t
            pages = len(HTML(string=dossier.html, url_fetcher=URLFetcher(allowed_protocols={"data"})).render().pages)
            base = baseline(store, actor) if role == "prefettura" else float("nan")
            ratio = "" if base != base else format_decimal(built / base, 2)
            print(f"{role:<12} {format_decimal(built, 1):>10} {format_decimal(printed, 1):>8} "
                  f"{format_int(len(dossier.html)):>10} {format_int(len(pdf)):>10} {pages:>7} "
                  f"{'' if base != base else format_decimal(base, 1):>11} {ratio:>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
