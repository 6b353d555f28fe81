"""``python -m geo interventi …``: the interventions register (pact art. 19) from the command line.

* ``elenca``: the register (code, kind, status, dates, cost, cells);
* ``crea``: registers an intervention on given H3 cells (as the command-line operator, audited);
* ``valuta ID``: the evaluation against matched comparison areas, by crime family;
* ``report``: the monitoring report of the Cabina di regia (HTML or CSV).
"""

from __future__ import annotations

import sys
from pathlib import Path

from geo.cli.args import database, parse_month


def _open(args, *, write: bool = False):
    from geo.data.storage import Store

    db = database(args)
    return Store(db, read_only=not write)


def cmd_list(args) -> int:
    from geo.access.permissions import SYSTEM
    from geo.interventions.register import list_interventions

    with _open(args) as store:
        frame = list_interventions(store, SYSTEM)
    if frame.empty:
        print("Nessun intervento registrato.")
        return 0
    cols = ["intervention_id", "tipo", "stato", "start_date", "end_date", "cost_eur", "n_cells", "synthetic", "title"]
    print(frame[cols].rename(columns={"intervention_id": "codice", "start_date": "inizio", "end_date": "fine",
                                      "cost_eur": "costo_eur", "n_cells": "esagoni", "synthetic": "sintetico",
                                      "title": "titolo"}).to_string(index=False))
    return 0


def cmd_create(args) -> int:
    from geo.access.permissions import SYSTEM
    from geo.interventions.evaluation import parse_cell
    from geo.interventions.register import create_intervention

    start = parse_month(args.inizio, "--inizio")
    end = parse_month(args.fine, "--fine")
    cells = [parse_cell(c) for c in args.celle.split(",") if c.strip()]
    with _open(args, write=True) as store:
        iid = create_intervention(store, SYSTEM, kind=args.tipo, title=args.titolo, cells=cells, res=args.res,
                                  start=start, end=end, cost_eur=args.costo, responsible=args.responsabile,
                                  status=args.stato, pro_com_t=args.comune)
    print(iid)
    return 0


def cmd_evaluate(args) -> int:
    from geo.access.permissions import SYSTEM
    from geo.interventions.evaluation import by_family, evaluate
    from geo.interventions.register import get_intervention

    with _open(args) as store:
        row, cells = get_intervention(store, SYSTEM, args.id)
        out = evaluate(store, cells, int(row["res"]), row["start_date"], seed=args.seme)
        table = by_family(store, cells, int(row["res"]), row["start_date"], seed=args.seme)
    print(f"{row['intervention_id']} — {row['title']}" + (" (sintetico, demo)" if row["synthetic"] else ""))
    for line in out.lines(args.ruolo):
        print(line)
    print()
    print(table.to_string(index=False))
    return 0


def cmd_report(args) -> int:
    from geo.access.permissions import SYSTEM
    from geo.interventions.report import csv_bytes, html_report, monitoring_frame

    with _open(args) as store:
        frame = monitoring_frame(store, SYSTEM)
    data = csv_bytes(frame) if args.format == "csv" else html_report(frame).encode("utf-8")
    if args.output:
        args.output.write_bytes(data)
        print(f"Scritto {args.output} ({len(frame)} interventi).", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
    return 0


def add_parser(sub, make, common) -> None:
    """Register ``interventi`` and its sub-commands."""
    from geo.access.privacy import ROLES
    from geo.interventions.register import KINDS, STATUSES

    p = make(sub, "interventi", help="registro e valutazione degli interventi del Patto (art. 19)",
             description="Registro degli interventi, valutazione contro aree di confronto abbinate, report di "
                         "monitoraggio per la Cabina di regia.")
    group = p.add_subparsers(dest="interventions_command", metavar="azione", required=True)
    q = make(group, "elenca", help="elenca gli interventi registrati")
    common(q)
    q.set_defaults(func=cmd_list)
    q = make(group, "crea", help="registra un intervento su esagoni H3")
    common(q)
    q.add_argument("--tipo", choices=list(KINDS), required=True, help="tipo di intervento")
    q.add_argument("--titolo", required=True, help="titolo")
    q.add_argument("--celle", required=True, help="esagoni H3 separati da virgole")
    q.add_argument("--res", type=int, choices=(8, 9, 10), default=9, help="risoluzione (predefinita: %(default)s)")
    q.add_argument("--inizio", required=True, metavar="AAAA-MM", help="mese di inizio")
    q.add_argument("--fine", default=None, metavar="AAAA-MM", help="mese di fine")
    q.add_argument("--costo", type=float, default=None, metavar="EURO", help="costo in euro")
    q.add_argument("--responsabile", default="", help="soggetto responsabile")
    q.add_argument("--stato", choices=list(STATUSES), default="programmato", help="stato")
    q.add_argument("--comune", default=None, metavar="ISTAT", help="codice ISTAT del comune")
    q.set_defaults(func=cmd_create)
    q = make(group, "valuta", help="valuta un intervento (prima/dopo contro aree di confronto)")
    common(q)
    q.add_argument("id", help="codice dell'intervento (INT-…)")
    q.add_argument("--ruolo", choices=list(ROLES), default="osservatore",
                   help="ruolo per la riservatezza: i non abilitati vedono solo stime e intervalli")
    q.add_argument("--seme", type=int, default=0, help="seme delle permutazioni (predefinito: %(default)s)")
    q.set_defaults(func=cmd_evaluate)
    q = make(group, "report", help="report di monitoraggio per la Cabina di regia (HTML o CSV)")
    common(q)
    q.add_argument("--format", "--formato", dest="format", choices=("html", "csv"), default="html")
    q.add_argument("--output", "-o", type=Path, default=None, metavar="FILE")
    q.set_defaults(func=cmd_report)


__all__ = ["add_parser"]
