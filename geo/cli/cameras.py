"""``python -m geo rank telecamere --budget N``: where the next cameras go (issue 18).

Writes the optimal plan (maximal covering location model, HiGHS) as CSV (``;``, decimal comma)
to the standard output or ``--output``; the coverage of the existing cameras, the access roads
without a plate reader (:mod:`geo.cameras.roads`) and the plan's totals with the effect range
(Welsh & Farrington 2009) go to the standard error; ``--accessi FILE`` writes the access roads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geo.cli.args import add_data_and_output_options, database, parse_month, resolve_comuni, write_output


def add_parser(rank_subparsers, make_parser, add_common) -> argparse.ArgumentParser:
    """Register ``telecamere`` under ``python -m geo rank``."""
    from geo.cameras.evidence import DEFAULT_SETTING, SETTINGS

    p = make_parser(
        rank_subparsers, "telecamere",
        help="piano ottimo delle nuove telecamere di videosorveglianza (art. 1) per un budget",
        description="Calcola la copertura delle telecamere esistenti e sceglie, per un budget, dove installare "
                    "le nuove (massima copertura dei delitti pesati per i punti caldi, ottimo esatto con HiGHS). "
                    "Scrive il piano in CSV; copertura e totali vanno sullo standard error.",
    )
    add_common(p)
    p.add_argument("--budget", type=float, required=True, metavar="EURO", help="budget in euro")
    p.add_argument("--costo-dome", type=float, default=None, metavar="EURO",
                   help="costo di una dome/PTZ (predefinito: la tabella dei costi del territorio, "
                        "costi_telecamere.csv, o la stima nazionale)")
    p.add_argument("--costo-fissa", type=float, default=None, metavar="EURO",
                   help="costo di una telecamera fissa (predefinito: come --costo-dome)")
    p.add_argument("--max-per-comune", type=int, default=None, metavar="N",
                   help="numero massimo di nuove telecamere per comune")
    p.add_argument("--forza", action="append", default=[], metavar="CODICE", help="sito o candidato obbligatorio")
    p.add_argument("--escludi", action="append", default=[], metavar="CODICE", help="sito o candidato escluso")
    p.add_argument("--contesto", choices=list(SETTINGS), default=DEFAULT_SETTING,
                   help="contesto per l'effetto atteso (predefinito: %(default)s)")
    p.add_argument("--accessi", type=Path, default=None, metavar="FILE",
                   help="scrive in FILE (CSV) gli accessi stradali tra comuni e la loro copertura con lettura targhe")
    p.add_argument("--siti", type=int, default=200, metavar="N", help="siti candidati (predefiniti: %(default)s)")
    add_data_and_output_options(p, ("csv",))
    p.set_defaults(func=cmd_cameras)
    return p


def cmd_cameras(args) -> int:
    from geo.cameras import placement as pl
    from geo.cameras import views
    from geo.cameras.analysis import analyse
    from geo.cameras.evidence import territory_costs
    from geo.cameras.roads import access_gaps
    from geo.data.storage import Store
    from geo.data.territory import territory_of_store

    db = database(args)
    start, end = parse_month(args.inizio, "--inizio"), parse_month(args.fine, "--fine")
    with Store(db, read_only=True) as store:
        terr = territory_of_store(store)
        costs = territory_costs(terr)
        comuni = resolve_comuni(store, args.comune)
        analysis = analyse(store, terr.metric_crs, role=args.ruolo, comuni=comuni, start=start, end=end)
        gates = access_gaps(store, terr.metric_crs, role=args.ruolo, comuni=comuni)
    used = {"dome": costs["dome"].cost_eur if args.costo_dome is None else args.costo_dome,
            "fissa": costs["fissa"].cost_eur if args.costo_fissa is None else args.costo_fissa,
            "lettura_targhe": costs["lettura_targhe"].cost_eur}
    options = pl.PlacementOptions(
        budget=args.budget, costs=used, max_per_comune=args.max_per_comune, force_in=tuple(args.forza),
        force_out=tuple(args.escludi), setting=args.contesto, max_sites=args.siti)
    problem = pl.build_problem(analysis, terr.metric_crs, options)
    plan = pl.solve(problem)
    data = views.to_csv(views.plan_table(plan, analysis.comuni, costs))
    for line in [*views.kpi_lines(analysis), *views.access_lines(gates), *views.plan_lines(plan, args.contesto),
                 views.cost_line(used, costs)]:
        print(line, file=sys.stderr)
    if args.accessi is not None:
        args.accessi.write_bytes(views.to_csv(views.access_table(gates.accesses, analysis.comuni)))
        print(f"Scritti {len(gates.accesses)} accessi stradali in {args.accessi}.", file=sys.stderr)
    if write_output(args, data):
        print(f"Scritte {plan.totals['cameras']} telecamere in {args.output}.", file=sys.stderr)
    return 0
