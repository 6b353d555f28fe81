"""``python -m geo rank zones``: the pilot-zone ranking of the dashboard, from the command line.

Writes the ranking as CSV (UTF-8 with BOM, ';', decimal comma, for Italian spreadsheets),
GeoJSON (zone outlines, WGS84) or a printable HTML summary. Registered by :mod:`geo.cli.main`.
"""

from __future__ import annotations

import argparse
import sys

from geo.cli.args import add_data_and_output_options, database, parse_month, resolve_comuni, write_output
from geo.data.filters import Filters
from geo.zones.pilot import (
    DEFAULT_CANDIDATE_SHARE,
    DEFAULT_DRAWS,
    DEFAULT_MAX_KM2,
    DEFAULT_MIN_KM2,
    DEFAULT_RES,
    DEFAULT_TOP,
)
from geo.zones.priority import DEFAULT_PRESET, PRESETS, normalise_weights, parse_weights, preset_weights

FORMATS = ("csv", "geojson", "html")


def add_parser(rank_subparsers, make_parser, add_common) -> argparse.ArgumentParser:
    """Register ``zones`` under ``python -m geo rank``."""
    p = make_parser(
        rank_subparsers, "zones",
        help="zone pilota contigue per il CPOSP (art. 4), classificate per priorità",
        description="Individua e classifica le zone pilota: aree contigue di esagoni H3 ad alta priorità, "
                    "entro i limiti di superficie, con contributi degli indicatori, robustezza (Monte Carlo "
                    "sui pesi) e consenso tra i profili. Scrive CSV, GeoJSON o un riepilogo HTML stampabile.",
    )
    add_common(p)
    p.add_argument("--profilo", "--preset", dest="preset", choices=list(PRESETS), default=DEFAULT_PRESET,
                   help="profilo di pesi: " + "; ".join(f"{k} = {v.label}" for k, v in PRESETS.items())
                        + " (predefinito: %(default)s)")
    p.add_argument("--pesi", "--weights", dest="weights", default=None, metavar="PESI",
                   help="pesi personalizzati, es. 'harm_rate=2,reports=1' (sostituiscono il profilo; gli "
                        "indicatori non citati pesano 0)")
    p.add_argument("--min-km2", type=float, default=DEFAULT_MIN_KM2, metavar="KM2",
                   help="superficie minima di una zona in km² (predefinita: %(default)s)")
    p.add_argument("--max-km2", type=float, default=DEFAULT_MAX_KM2, metavar="KM2",
                   help="superficie massima di una zona in km² (predefinita: %(default)s)")
    p.add_argument("--quota-candidati", dest="candidate_share", type=float, default=DEFAULT_CANDIDATE_SHARE,
                   metavar="QUOTA",
                   help="quota degli esagoni con priorità più alta da cui nascono le zone, tra 0 e 1 "
                        "(predefinita: %(default)s)")
    p.add_argument("--top", type=int, default=DEFAULT_TOP, metavar="N",
                   help="numero di zone da scrivere e N della probabilità di restare tra le prime N; 0 = scrive "
                        f"tutte le zone (con N = {DEFAULT_TOP}) (predefinito: %(default)s)")
    p.add_argument("--res", type=int, choices=(8, 9, 10), default=DEFAULT_RES,
                   help="risoluzione degli esagoni H3 (predefinita: %(default)s, ≈ 0,1 km²)")
    p.add_argument("--seed", "--seme", dest="seed", type=int, default=0, metavar="SEME",
                   help="seme delle simulazioni Monte Carlo (predefinito: %(default)s)")
    p.add_argument("--simulazioni", dest="draws", type=int, default=DEFAULT_DRAWS, metavar="N",
                   help="simulazioni Monte Carlo sui pesi (predefinite: %(default)s)")
    add_data_and_output_options(p, FORMATS)
    p.set_defaults(func=cmd_zones)
    return p


def cmd_zones(args) -> int:
    """Compute the ranking and write it; returns the exit code."""
    from geo.data.storage import Store
    from geo.zones import pilot as zones
    from geo.zones import report as zone_report

    db = database(args)
    zones.check_bounds(args.min_km2, args.max_km2, 0.0)  # fail fast; the hexagon size is checked later
    if not 0 < args.candidate_share <= 1:
        raise ValueError("--quota-candidati deve essere tra 0 (escluso) e 1.")
    if args.top < 0 or args.draws < 1:
        raise ValueError("--top deve essere ≥ 0 e --simulazioni ≥ 1.")
    weights = normalise_weights(parse_weights(args.weights)) if args.weights else preset_weights(args.preset)
    start, end = parse_month(args.inizio, "--inizio"), parse_month(args.fine, "--fine")
    if start and end and start > end:
        raise ValueError("--inizio è successivo a --fine.")
    with Store(db, read_only=True) as store:
        filters = Filters(res=args.res, comuni=resolve_comuni(store, args.comune), start=start, end=end)
        prep = zones.prepare(store, filters)
        comuni = store.comuni_geometries() if args.format == "html" else None
    result = zones.rank_zones(
        prep, weights, min_km2=args.min_km2, max_km2=args.max_km2, candidate_share=args.candidate_share,
        top=args.top or DEFAULT_TOP, seed=args.seed, draws=args.draws,
    )
    if args.top:
        result.zones = result.zones.head(args.top)
    if args.format == "csv":
        data = zone_report.ranking_csv(result, role=args.ruolo)
    elif args.format == "geojson":
        data = zone_report.ranking_geojson(result, role=args.ruolo).encode("utf-8")
    else:
        data = zone_report.summary_html(result, role=args.ruolo, top=len(result.zones) or 1,
                                        comuni=comuni).encode("utf-8")
    if write_output(args, data):
        print(f"Scritte {len(result.zones)} zone pilota in {args.output} ({args.format}).", file=sys.stderr)
    if result.zones.empty:
        print("Nessuna zona individuata: nessun esagono ha priorità positiva con questi pesi e filtri.",
              file=sys.stderr)
    return 0
