"""``python -m geo dossier``: the CPOSP dossier (printable HTML or PDF) from the command line.

The dossier is made for the role given with ``--ruolo`` (its disclosure rules apply to every
section) and stamped with the head of the audit chain, as the page's export is.
"""

from __future__ import annotations

import argparse
import sys

from geo.cli.args import add_data_and_output_options, database, resolve_comuni, write_output

FORMATS = ("html", "pdf")


def add_parser(sub, make_parser, add_common) -> argparse.ArgumentParser:
    """Register ``dossier`` under ``python -m geo``."""
    from geo.dossier.build import DEFAULT_BUDGET_EUR, DEFAULT_TOP_ZONES
    from geo.zones.priority import DEFAULT_PRESET, PRESETS

    p = make_parser(sub, "dossier", help="dossier per la riunione del CPOSP (HTML stampabile o PDF)",
                    description="Prepara il dossier per il Comitato provinciale: la provincia rispetto alle altre, "
                                "punti caldi con soglia del caso e verifica retrospettiva, zone pilota, piano "
                                "dell'illuminazione, agenda, interventi, videosorveglianza, fonti dei dati. "
                                "Ogni sezione segue le regole di riservatezza del ruolo.")
    add_common(p)
    p.add_argument("--profilo", "--preset", dest="preset", choices=list(PRESETS), default=DEFAULT_PRESET,
                   help="profilo di pesi delle zone pilota (predefinito: %(default)s)")
    p.add_argument("--zone", dest="top", type=int, default=DEFAULT_TOP_ZONES, metavar="N",
                   help="numero di zone pilota nel dossier (predefinito: %(default)s)")
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET_EUR, metavar="EURO",
                   help="budget del piano di illuminazione in euro (predefinito: %(default).0f)")
    add_data_and_output_options(p, FORMATS)
    p.set_defaults(func=cmd_dossier, format="html")
    return p


def cmd_dossier(args) -> int:
    from geo.access import audit
    from geo.access.permissions import User
    from geo.data.storage import Store
    from geo.dossier.build import DossierOptions, build_dossier, pdf_bytes

    db = database(args)
    if args.format == "pdf" and args.output is None:
        raise ValueError("Il PDF va scritto in un file: indicare --output FILE.pdf.")
    options_error = None
    with Store(db, read_only=True) as store:
        comuni = resolve_comuni(store, args.comune)
        if args.ruolo == "comune" and not comuni:
            options_error = "Con --ruolo comune indicare il comune con --comune."
        else:
            actor = User("riga-di-comando", args.ruolo, comuni=comuni if args.ruolo == "comune" else (),
                         display_name="Riga di comando")
            options = DossierOptions(preset=args.preset, top_zones=args.top, budget_eur=args.budget,
                                     comuni=comuni)
            dossier = build_dossier(store, actor, options)
            stamped = audit.stamp(dossier.html, audit.anchor(store, reason=f"dossier {args.format}"), "html")
    if options_error:
        raise ValueError(options_error)
    data = pdf_bytes(stamped.decode("utf-8")) if args.format == "pdf" else stamped
    if write_output(args, data):
        missing = [s.title for s in dossier.sections if not s.available]
        print(f"Dossier scritto in {args.output} ({args.format}, {len(dossier.sections)} sezioni"
              + (f"; non disponibili per il ruolo: {', '.join(missing)}" if missing else "") + ").", file=sys.stderr)
    return 0
