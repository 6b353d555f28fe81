"""Command line: ``python -m geo <comando>``. Messages are Italian, like the dashboard's."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from geo import config

EXIT_USER_ERROR = 2
EXIT_UNEXPECTED = 1


class _ItalianHelp(argparse.HelpFormatter):
    """argparse's help with Italian headings (the rest of the text is ours)."""

    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, prefix="uso: " if prefix is None else prefix)


_ARGPARSE_IT = (
    ("the following arguments are required", "mancano gli argomenti obbligatori"),
    ("invalid choice", "scelta non valida"),
    ("choose from", "valori ammessi"),
    ("unrecognized arguments", "argomenti non riconosciuti"),
    ("expected one argument", "serve un valore"),
    ("invalid int value", "numero intero non valido"),
    ("argument", "argomento"),
)


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are in Italian."""

    def error(self, message: str):
        for en, it in _ARGPARSE_IT:
            message = message.replace(en, it)
        self.print_usage(sys.stderr)
        self.exit(EXIT_USER_ERROR, f"{self.prog}: errore: {message}\n")


def _italian(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p._positionals.title = "argomenti"
    p._optionals.title = "opzioni"
    p.add_argument("-h", "--help", action="help", help="mostra questo aiuto ed esce")
    return p


def _sub(sub, name: str, **kwargs) -> argparse.ArgumentParser:
    return _italian(sub.add_parser(name, add_help=False, formatter_class=_ItalianHelp, **kwargs))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--territorio", "--territory", dest="territory", default=config.DEFAULT_TERRITORY, metavar="NOME",
        help="cartella del territorio sotto data/territories o percorso (predefinito: %(default)s)",
    )
    p.add_argument("--db", type=Path, default=None, metavar="FILE",
                   help="file DuckDB (predefinito: data/lanterna_<territorio>.duckdb o $LANTERNA_DB)")
    p.add_argument("--debug", action="store_true", help="mostra i dettagli tecnici degli errori")


def build_parser() -> argparse.ArgumentParser:
    parser = _italian(_Parser(
        prog="python -m geo",
        description="Lanterna: dati e analisi per il Patto per la sicurezza urbana.",
        add_help=False,
        formatter_class=_ItalianHelp,
    ))
    sub = parser.add_subparsers(dest="command", metavar="comando", required=True)

    p = _sub(sub, "demo", help="costruisce il database dimostrativo di un territorio",
                       description="Costruisce il database di un territorio: dati reali più livelli "
                                   "generati (contrassegnati synthetic = true). Deterministico: stesso seme, "
                                   "stesso contenuto.")
    _common(p)
    p.add_argument("--seed", type=int, default=config.DEMO_SEED, help="seme casuale (predefinito: %(default)s)")
    p.add_argument("--force", action="store_true", help="ricostruisce anche se il database esiste già")

    p = _sub(sub, "import", help="importa un file in un livello",
                       description="Importa un file (CSV, GeoJSON, GeoPackage, Shapefile zip, Parquet) in un "
                                   "livello. Predefinito: tutto o niente, una riga errata rifiuta il file.")
    _common(p)
    p.add_argument("layer", help="livello: delitti, illuminazione, segnalazioni, scuole, servizi, strade")
    p.add_argument("file", type=Path, help="file da importare")
    p.add_argument("--crs", default=None, help="sistema di riferimento delle coordinate del CSV (es. EPSG:3003)")
    p.add_argument("--swap-xy", action="store_true", help="scambia latitudine e longitudine")
    p.add_argument("--parziale", "--partial", dest="partial", action="store_true",
                   help="importa le righe valide e scrive le scartate in un file")
    p.add_argument("--scarti", "--rejects", dest="rejects", type=Path, default=None,
                   help="file CSV per le righe scartate (con --parziale)")
    p.add_argument("--utente", "--user", dest="user", default=None, help="nome dell'utente (registro importazioni)")

    p = _sub(sub, "info", help="mostra territorio, livelli, righe, periodo e quota di dati generati")
    _common(p)

    p = _sub(sub, "rank", help="classifiche per il CPOSP: zone pilota, investimenti in illuminazione, telecamere",
             description="Classifiche per il CPOSP, scritte in CSV o GeoJSON.")
    rank = p.add_subparsers(dest="what", metavar="cosa", required=True)
    for module in ("geo.cli.zones", "geo.cli.lighting", "geo.cli.cameras"):
        try:
            register = importlib.import_module(module).add_parser
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a real missing dependency must not be hidden
                raise
            continue
        register(rank, _sub, _common)

    from geo.cli.users import add_parser as add_users_parser

    add_users_parser(sub, _sub, _common)
    from geo.cli.audit import add_parser as add_audit_parser

    add_audit_parser(sub, _sub, _common)

    from geo.cli.territory import add_parser as add_territory_parser

    add_territory_parser(sub, _sub, _common)
    from geo.cli.interventions import add_parser as add_interventions_parser

    add_interventions_parser(sub, _sub, _common)
    from geo.cli.dossier import add_parser as add_dossier_parser

    add_dossier_parser(sub, _sub, _common)
    return parser


def _db(args) -> Path:
    return args.db or config.db_path(Path(args.territory).name)


def cmd_demo(args) -> int:
    from geo.demo.build import build_demo

    started = time.perf_counter()
    last = [-1]

    def progress(fraction: float, text: str) -> None:
        pct = int(fraction * 100)
        if pct // 10 != last[0] // 10:
            print(f"  {pct:3d}%  {text}", flush=True)
            last[0] = pct

    from geo.data.territory_builder import resolve_territory
    from geo.demo.build import targets_report

    territory = resolve_territory(args.territory)  # a province (BG) gets its folder on first use
    summary = build_demo(territory, path=_db(args), seed=args.seed, force=args.force, progress=progress)
    elapsed = time.perf_counter() - started
    if summary.get("skipped"):
        print(f"Il database {_db(args)} esiste già ed è completo: usare --force per ricostruirlo.")
        return 0
    print(f"Database costruito: {_db(args)} in {elapsed:.1f} s")
    for table, n in summary.get("counts", {}).items():
        print(f"  {table:<16} {n:>10,} righe".replace(",", "."))
    print("Totali annui dei delitti della demo (ufficiali o stimati):")
    for line in targets_report(summary["targets"], summary["official"]):
        print(f"  {line}")
    for w in summary.get("warnings", []):
        print(f"Attenzione: {w}")
    return 0


def cmd_import(args) -> int:
    from geo.data.schemas import get_layer
    from geo.data.storage import Store
    from geo.data.territory import load_territory
    from geo.ingest.importers import import_file

    layer = get_layer(args.layer)
    if not args.file.exists():
        raise FileNotFoundError(f"File non trovato: {args.file}")
    territory = load_territory(args.territory)
    db = _db(args)
    if not db.exists():
        raise FileNotFoundError(f"Database non trovato: {db}. Crearlo con 'python -m geo demo'.")
    rejects = args.rejects
    if args.partial and rejects is None:
        rejects = args.file.with_name(f"{args.file.stem}_scartate.csv")
    with Store(db) as store:
        result = import_file(
            store, territory, layer.key, args.file, crs=args.crs, swap_xy=args.swap_xy, partial=args.partial,
            rejects_path=rejects, user=args.user,
        )
    for msg in result.messages:
        print(msg)
    if result.already_imported:
        return 0
    print(f"Importazione in '{layer.label}': {result.rows_read} righe lette, {result.rows_written} scritte, "
          f"{result.rows_rejected} scartate.")
    if result.rows_rejected and rejects:
        print(f"Righe scartate scritte in {rejects}")
    return 0


def cmd_info(args) -> int:
    from geo.data.storage import Store
    from geo.data.territory import load_territory

    territory = load_territory(args.territory)
    db = _db(args)
    print(f"Territorio: {territory.name} (codice {territory.code}, NUTS3 {territory.nuts3 or '-'})")
    print(f"Cartella:   {territory.folder}")
    print(f"Comuni:     {len(territory.comuni)}; residenti {int(territory.population['residenti'].sum()):,}"
          .replace(",", "."))
    if not db.exists():
        print(f"Database:   {db} (non ancora costruito: 'python -m geo demo')")
        return 0
    with Store(db, read_only=True) as store:
        print(f"Database:   {db} (costruito {store.get_meta('built_at', '?')}, seme {store.get_meta('seed', '-')})")
        summary = store.layer_summary()
    print()
    print(f"{'livello':<14}{'righe':>10}{'eventi':>10}{'generati':>10}  periodo")
    for r in summary.itertuples():
        if r.table == "incidents" and r.events:
            share = f"{100 * r.synthetic_events / r.events:.0f}%"
        else:
            share = f"{100 * r.synthetic_rows / r.rows:.0f}%" if r.rows else "-"
        period = f"{r._6} → {r.to}" if r._6 is not None else ""
        events = f"{int(r.events):,}".replace(",", ".") if r.events is not None and r.events == r.events else ""
        print(f"{r.table:<14}{r.rows:>10,}{events:>10}{share:>10}  {period}".replace(",", "."))
    return 0


COMMANDS = {"demo": cmd_demo, "import": cmd_import, "info": cmd_info}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from geo.data.storage import StorageError
    from geo.data.territory import TerritoryError

    known: tuple[type[BaseException], ...] = (TerritoryError, StorageError, FileNotFoundError, KeyError, ValueError)
    try:
        from geo.data.io import ImportFailed

        known = (*known, ImportFailed)
    except ImportError:  # importers not installed in a trimmed build
        pass
    command = getattr(args, "func", None) or COMMANDS[args.command]
    try:
        return command(args)
    except known as exc:
        if args.debug:
            raise
        print(f"Errore: {_message(exc)}", file=sys.stderr)
        report = getattr(exc, "report", None)
        if report is not None and len(report):
            print(report.head(50).to_string(index=False), file=sys.stderr)
            if len(report) > 50:
                print(f"… e altre {len(report) - 50} righe con errori.", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as exc:
        if args.debug:
            raise
        print(f"Errore inatteso ({type(exc).__name__}): {exc}. Rieseguire con --debug per i dettagli.",
              file=sys.stderr)
        return EXIT_UNEXPECTED


def _message(exc: BaseException) -> str:
    messages = getattr(exc, "messages", None)
    if messages:
        return "\n".join(messages)
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc)
