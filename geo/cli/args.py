"""Argument parsing shared by the command-line ranking commands (Italian messages)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from geo import config


def parse_month(text: str | None, option: str) -> date | None:
    """``AAAA-MM`` → first day of that month (None stays None); ``ValueError`` in Italian."""
    if text is None:
        return None
    try:
        year, month = (int(part) for part in text.strip().split("-")[:2])
        return date(year, month, 1)
    except (ValueError, TypeError):
        raise ValueError(f"{option}: mese non valido '{text}', usare AAAA-MM (per esempio 2024-06).") from None


def resolve_comuni(store, wanted: list[str]) -> tuple[str, ...]:
    """ISTAT codes for comuni given by code (``45010`` or ``045010``) or name (any case)."""
    if not wanted:
        return ()
    table = store.comuni()
    by_code = set(table["pro_com_t"])
    by_name = {n.casefold(): c for c, n in zip(table["pro_com_t"], table["nome"], strict=True)}
    out = []
    for w in wanted:
        code = w.strip().zfill(6) if w.strip().isdigit() else by_name.get(w.strip().casefold())
        if code not in by_code:
            valid = ", ".join(sorted(table["nome"]))
            raise ValueError(f"Comune sconosciuto '{w}'. Comuni del territorio: {valid}")
        out.append(code)
    return tuple(dict.fromkeys(out))


def add_data_and_output_options(group, formats: tuple[str, ...]) -> None:
    """The options every ranking command shares: comuni, months, role for suppression, output."""
    from pathlib import Path

    from geo.access.privacy import ROLES

    group.add_argument("--comune", action="append", default=[], metavar="COMUNE",
                       help="limita a un comune (codice ISTAT o nome); ripetibile")
    group.add_argument("--inizio", default=None, metavar="AAAA-MM",
                       help="primo mese dei delitti (predefinito: il primo disponibile)")
    group.add_argument("--fine", default=None, metavar="AAAA-MM",
                       help="ultimo mese dei delitti (predefinito: l'ultimo disponibile)")
    group.add_argument("--ruolo", choices=list(ROLES), default="osservatore",
                       help="ruolo per la riservatezza dei conteggi piccoli (predefinito: %(default)s)")
    group.add_argument("--format", "--formato", dest="format", choices=formats, default="csv",
                       help="formato di uscita (predefinito: %(default)s)")
    group.add_argument("--output", "-o", type=Path, default=None, metavar="FILE",
                       help="file di uscita (predefinito: lo standard output)")


def database(args) -> Path:
    """The database of ``--db`` or of the territory's demo; an Italian error when it is missing."""
    db = Path(args.db) if args.db else config.db_path(Path(args.territory).name)
    if not db.exists():
        raise FileNotFoundError(f"Database non trovato: {db}. Crearlo con 'python -m geo demo'.")
    return db


def write_output(args, data: bytes) -> bool:
    """Write ``data`` to ``--output`` (creating its folder) or, without it, to standard output;
    True when a file was written."""
    if args.output is None:
        sys.stdout.write(data.decode("utf-8-sig"))
        sys.stdout.flush()
        return False
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    return True
