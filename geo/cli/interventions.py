"""``python -m geo interventi …``: the interventions register (pact art. 19) from the command line.

* ``elenca``: the register (code, kind, status, dates, cost, cells);
* ``crea``: registers an intervention (as the command-line operator, audited) on given H3 cells,
  on a pilot zone of ``rank zones`` (``--da-zona Z-7K3M``), on the hexagons of the lighting plan of
  ``rank lighting`` for a budget (``--da-piano --budget``) or on the hexagons of reports
  (``--da-segnalazioni --segnalazioni ID,ID``); ``--segnalazioni`` links reports;
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


def _draft(store, args):
    """The draft of ``--da-zona`` / ``--da-piano`` / ``--da-segnalazioni`` (None for ``--celle``)."""
    from geo.access.permissions import SYSTEM
    from geo.cli.args import resolve_comuni
    from geo.interventions import links
    from geo.interventions import start as start_logic

    comuni = resolve_comuni(store, [args.comune]) if args.comune else ()
    if args.da_zona:
        result = start_logic.zone_ranking(store, preset=args.preset, res=args.res, comuni=comuni, seed=args.seme)
        return start_logic.zone_draft(store, result.zones, args.da_zona.strip().upper(), args.res)
    if args.da_piano:
        if args.budget is None:
            raise ValueError("--da-piano richiede --budget (euro).")
        plan = start_logic.lighting_plan(store, budget=args.budget, res=args.res, comuni=comuni)
        return start_logic.plan_draft(plan, args.res)
    if args.da_segnalazioni:
        return links.decoro_draft(store, SYSTEM, links.parse_ids(args.segnalazioni), args.res)
    return None


def cmd_create(args) -> int:
    import dataclasses
    from datetime import date

    from geo.access.permissions import SYSTEM
    from geo.interventions import links
    from geo.interventions import start as start_logic
    from geo.interventions.evaluation import parse_cell
    from geo.interventions.register import create_intervention

    start = parse_month(args.inizio, "--inizio")
    end = parse_month(args.fine, "--fine")
    reports = links.parse_ids(args.segnalazioni)
    with _open(args, write=True) as store:
        draft = _draft(store, args)
        if draft is None:
            if not (args.celle and args.tipo and args.titolo and start):
                raise ValueError("Con --celle servono anche --tipo, --titolo e --inizio (oppure --da-zona, "
                                 "--da-piano, --da-segnalazioni).")
            cells = [parse_cell(c) for c in args.celle.split(",") if c.strip()]
            iid = create_intervention(store, SYSTEM, kind=args.tipo, title=args.titolo, cells=cells, res=args.res,
                                      start=start, end=end, cost_eur=args.costo, responsible=args.responsabile,
                                      status=args.stato, pro_com_t=args.comune, report_ids=reports)
        else:
            changes = {"start": start or date.today(), "report_ids": tuple(dict.fromkeys(
                (*draft.report_ids, *reports)))}
            if args.titolo:
                changes["title"] = args.titolo
            if args.costo is not None:
                changes["cost_eur"] = args.costo
            draft = dataclasses.replace(draft, **changes)
            print(f"{draft.title}: {len(draft.cells)} esagoni, comune {draft.pro_com_t or 'più comuni'}.",
                  file=sys.stderr)
            iid = start_logic.create_from_draft(store, SYSTEM, draft, responsible=args.responsabile,
                                                status=args.stato)
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
    from geo.zones.priority import DEFAULT_PRESET, PRESETS

    p = make(sub, "interventi", help="registro e valutazione degli interventi del Patto (art. 19)",
             description="Registro degli interventi, valutazione contro aree di confronto abbinate, report di "
                         "monitoraggio per la Cabina di regia.")
    group = p.add_subparsers(dest="interventions_command", metavar="azione", required=True)
    q = make(group, "elenca", help="elenca gli interventi registrati")
    common(q)
    q.set_defaults(func=cmd_list)
    q = make(group, "crea", help="registra un intervento su esagoni H3, da una zona pilota, da un piano di "
                                 "illuminazione o da segnalazioni")
    common(q)
    origin = q.add_mutually_exclusive_group(required=True)
    origin.add_argument("--celle", default=None, help="esagoni H3 separati da virgole")
    origin.add_argument("--da-zona", dest="da_zona", default=None, metavar="ZONA",
                        help="gli esagoni della zona pilota ZONA (es. Z-7K3M) della classifica di 'rank zones'")
    origin.add_argument("--da-piano", dest="da_piano", action="store_true",
                        help="gli esagoni scelti dal piano di illuminazione di 'rank lighting' per --budget")
    origin.add_argument("--da-segnalazioni", dest="da_segnalazioni", action="store_true",
                        help="decoro sugli esagoni delle segnalazioni di --segnalazioni")
    q.add_argument("--tipo", choices=list(KINDS), default=None, help="tipo di intervento (con --celle)")
    q.add_argument("--titolo", default=None, help="titolo (predefinito, dalla zona o dal piano)")
    q.add_argument("--res", type=int, choices=(8, 9, 10), default=9, help="risoluzione (predefinita: %(default)s)")
    q.add_argument("--inizio", default=None, metavar="AAAA-MM",
                   help="mese di inizio (obbligatorio con --celle; predefinito: oggi)")
    q.add_argument("--fine", default=None, metavar="AAAA-MM", help="mese di fine")
    q.add_argument("--costo", type=float, default=None, metavar="EURO",
                   help="costo in euro (predefinito con --da-piano: il costo del piano)")
    q.add_argument("--responsabile", default="", help="soggetto responsabile")
    q.add_argument("--stato", choices=list(STATUSES), default="programmato", help="stato")
    q.add_argument("--comune", default=None, metavar="ISTAT",
                   help="codice ISTAT del comune (con --da-zona / --da-piano: limita la classifica al comune)")
    q.add_argument("--segnalazioni", default=None, metavar="ID,ID", help="segnalazioni collegate")
    q.add_argument("--profilo", "--preset", dest="preset", choices=list(PRESETS), default=DEFAULT_PRESET,
                   help="profilo di pesi della classifica delle zone (predefinito: %(default)s)")
    q.add_argument("--budget", type=float, default=None, metavar="EURO", help="budget del piano (con --da-piano)")
    q.add_argument("--seme", type=int, default=0, help="seme delle simulazioni della classifica delle zone")
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
