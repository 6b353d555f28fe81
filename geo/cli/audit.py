"""``python -m geo audit …``: the integrity of the audit log from the command line.

* ``verifica``: checks the keyed chain, the head, the id sequence and the anchors
  (:func:`geo.access.audit.verify_chain`); prints every problem in Italian and the first entry
  from which the log cannot be trusted; exit code 0 when intact, 1 when altered.
* ``ancora``: appends the chain's head to the anchor file and prints it (e.g. every night from
  cron, or before a meeting of the Cabina di regia) — an anchor is also written by every export.
* ``ruota-chiave``: rotates the audit key (docs/AUTH.md, *Key rotation*): the log must verify
  first; the old key stays in the key file, the new one signs from a ``rotazione_chiave`` entry on.

The database must not be open in the dashboard for ``ruota-chiave`` (it writes); ``verifica``
and ``ancora`` open it read-only.
"""

from __future__ import annotations

from pathlib import Path

from geo import config
from geo.cli.args import database

EXIT_ALTERED = 1


def _db(args) -> Path:
    db = database(args)
    return db


def _open(args, *, write: bool = False):
    from geo.data.storage import Store

    return Store(_db(args), read_only=not write)


def cmd_verify(args) -> int:
    from geo.access import audit

    with _open(args) as store:
        check = audit.verify_chain(store)
        print(check.message)
        print(f"Voci controllate: {check.checked}; ancore confermate: {check.anchors} "
              f"(file {config.anchor_file(store.path)}).")
        if not check.ok:
            print(f"Prima voce non affidabile: n. {check.first_bad}. Problemi trovati ({len(check.problems)}):")
            for problem in check.problems:
                print(f"  - {problem}")
            return EXIT_ALTERED
    return 0


def cmd_anchor(args) -> int:
    from geo.access import audit

    with _open(args) as store:
        found = audit.anchor(store, reason=args.motivo)
        print(found.text)
        print(f"Ancora aggiunta a {config.anchor_file(store.path)}.")
    return 0


def cmd_rotate(args) -> int:
    from geo.access import audit

    with _open(args, write=True) as store:
        old, new = audit.rotate_key(store)
    print(f"Chiave del registro ruotata: {old} → {new}. La chiave precedente resta nel file delle chiavi "
          f"({config.secrets_file()}) per verificare le voci che ha firmato.")
    return 0


def add_parser(sub, make, common) -> None:
    """Register ``audit`` and its sub-commands (``make``/``common`` are main's helpers)."""
    p = make(sub, "audit", help="integrità del registro delle modifiche: verifica, ancore, chiave",
             description="Verifica della catena con chiave del registro delle modifiche, ancore, rotazione della "
                         "chiave.")
    group = p.add_subparsers(dest="audit_command", metavar="azione", required=True)
    q = make(group, "verifica", help="verifica il registro e dice cosa non va e da quale voce")
    common(q)
    q.set_defaults(func=cmd_verify)
    q = make(group, "ancora", help="scrive la testa del registro nel file delle ancore")
    common(q)
    q.add_argument("--motivo", default="riga di comando", help="perché (scritto nell'ancora)")
    q.set_defaults(func=cmd_anchor)
    q = make(group, "ruota-chiave", help="crea una nuova chiave del registro (la vecchia resta per la verifica)")
    common(q)
    q.set_defaults(func=cmd_rotate)


__all__ = ["add_parser", "cmd_anchor", "cmd_rotate", "cmd_verify"]
