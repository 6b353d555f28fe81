"""``python -m geo territorio …``: make and check territory folders.

``crea PROVINCIA [--cartella DIR] [--sovrascrivi]``
    writes the folder of any of the 107 provinces (sigla, ISTAT code or name) from the national
    data alone (:func:`geo.data.territory_builder.create_territory`).
``verifica CARTELLA``
    checks a hand-made or generated folder and says in Italian what is missing or wrong
    (:func:`geo.data.territory_check.check_folder`); exit code 2 when there are errors.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path


def add_parser(sub, make_sub: Callable[..., argparse.ArgumentParser], _common=None) -> None:
    """Register ``territorio`` and its two commands on the main parser (like :mod:`geo.cli.users`)."""
    p = make_sub(sub, "territorio", help="crea o verifica la cartella di un territorio (qualsiasi provincia)",
                 description="Cartelle dei territori: creazione dai dati nazionali e verifica.")
    cmds = p.add_subparsers(dest="territory_command", metavar="azione", required=True)

    c = make_sub(cmds, "crea", help="crea la cartella di una provincia dai dati nazionali",
                 description="Crea la cartella completa di una provincia (confini e popolazione ISTAT, località "
                             "OpenStreetMap, scuole dell'infanzia MIM, totali ufficiali dei delitti) con le fonti "
                             "e le licenze di ogni file.")
    c.add_argument("provincia", help="sigla (BG), codice ISTAT (016) o nome (Bergamo)")
    c.add_argument("--cartella", type=Path, default=None, metavar="DIR",
                   help="cartella da creare (predefinito: data/territories/<nome>)")
    c.add_argument("--sovrascrivi", action="store_true", help="rifà la cartella se esiste già")
    c.add_argument("--debug", action="store_true", help="mostra i dettagli tecnici degli errori")
    c.set_defaults(func=cmd_create)

    v = make_sub(cmds, "verifica", help="verifica una cartella di territorio",
                 description="Controlla una cartella di territorio (fatta a mano o generata) e dice cosa manca "
                             "o è errato. Esce con codice 2 se ci sono errori.")
    v.add_argument("cartella", help="percorso della cartella, o nome sotto data/territories")
    v.add_argument("--debug", action="store_true", help="mostra i dettagli tecnici degli errori")
    v.set_defaults(func=cmd_check)


def cmd_create(args) -> int:
    from geo.data.territory_builder import create_territory

    result = create_territory(args.provincia, args.cartella, overwrite=args.sovrascrivi)
    prov = result.province
    print(f"Creata la cartella {result.folder} per la Provincia di {prov.nome} "
          f"(codice {prov.codice}, sigla {prov.sigla}).")
    for key, n in result.counts.items():
        print(f"  {key:<18} {n:>8,} righe".replace(",", "."))
    for w in result.warnings:
        print(f"Attenzione: {w}")
    print(f"Per la demo: python -m geo demo --territorio {result.folder}")
    return 0


def cmd_check(args) -> int:
    from geo.data.territory_check import check_folder

    folder = Path(args.cartella)
    findings = check_folder(folder)
    errors = [f for f in findings if f.level == "errore"]
    for f in findings:
        print(f"{f.level.upper():<10} {f.file:<24} {f.message}")
    if not findings:
        print(f"La cartella {folder} è completa e corretta.")
    else:
        print(f"{len(errors)} errori, {len(findings) - len(errors)} avvisi.")
    return 2 if errors else 0
