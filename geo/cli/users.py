"""``python -m geo users …``: local accounts from the command line.

The command line acts as :data:`geo.access.permissions.SYSTEM` (the operator who owns the database
file); every change is recorded in the audit log as such. Passwords are never read from the
arguments (they would end up in the shell history and in ``ps``): they are asked twice with
``getpass``, or read from the first line of standard input with ``--password-stdin``.

Commands: ``add``, ``list``, ``passwd``, ``disable``, ``enable``, ``role`` (change role and
comuni) and ``roles`` (the permission matrix).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path

from geo import config

_MATRIX_MARK = {"tutti": "sì", "propri": "propri", "": "–"}


def _db(args) -> Path:
    return args.db or config.db_path(Path(args.territory).name)


def _store(args):
    from geo.data.storage import Store

    db = _db(args)
    if not db.exists():
        raise FileNotFoundError(f"Database non trovato: {db}. Crearlo con 'python -m geo demo'.")
    return Store(db)


def _codes(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def read_password(args, *, stdin=None, prompt: Callable[[str], str] | None = None) -> str:
    """The new password: first line of standard input with ``--password-stdin``, otherwise asked
    twice on the terminal (never from the arguments)."""
    stdin = stdin or sys.stdin
    if getattr(args, "password_stdin", False):
        line = stdin.readline()
        if not line:
            raise ValueError("Nessuna password su standard input.")
        return line.rstrip("\r\n")
    if not stdin.isatty() and prompt is None:
        raise ValueError("Nessun terminale per chiedere la password: usare --password-stdin.")
    ask = prompt or getpass.getpass
    first = ask("Nuova password: ")
    if ask("Ripetere la password: ") != first:
        raise ValueError("Le due password non coincidono.")
    return first


def cmd_add(args) -> int:
    from geo.access import auth
    from geo.access.permissions import SYSTEM

    password = None if args.no_password else read_password(args)
    with _store(args) as store:
        user = auth.add_user(store, SYSTEM, username=args.username, password=password, role=args.role,
                             comuni=_codes(args.comuni), display_name=args.name, email=args.email)
    print(f"Utente creato: {user.username} ({user.label})"
          + (f", comuni {', '.join(user.comuni)}" if user.comuni else "")
          + ("; accesso solo con il provider dell'ente" if password is None else "") + ".")
    return 0


def cmd_list(args) -> int:
    from geo.access import auth
    from geo.access.permissions import SYSTEM, role_label

    with _store(args) as store:
        users = auth.list_users(store, SYSTEM)
    if users.empty:
        print("Nessun utente. Crearne uno con 'python -m geo users add NOME --ruolo prefettura'.")
        return 0
    print(f"{'utente':<22}{'ruolo':<18}{'comuni':<16}{'attivo':<8}{'ultimo accesso':<18}nome / e-mail")
    for r in users.itertuples():
        last = r.last_login.strftime("%d/%m/%Y %H:%M") if r.last_login is not None and r.last_login == r.last_login \
            else "mai"
        who = r.display_name + (f" <{r.email}>" if isinstance(r.email, str) and r.email else "")
        print(f"{r.username:<22}{role_label(r.role):<18}{(r.comuni or '–'):<16}{'sì' if r.active else 'no':<8}"
              f"{last:<18}{who}")
    return 0


def cmd_passwd(args) -> int:
    from geo.access import auth
    from geo.access.permissions import SYSTEM

    password = read_password(args)
    with _store(args) as store:
        user = auth.set_password(store, SYSTEM, args.username, password)
    print(f"Password di {user.username} aggiornata.")
    return 0


def _set_active(active: bool):
    def command(args) -> int:
        from geo.access import auth
        from geo.access.permissions import SYSTEM

        with _store(args) as store:
            user = auth.set_active(store, SYSTEM, args.username, active)
        print(f"Utente {user.username} {'riattivato' if active else 'disattivato'}.")
        return 0

    return command


def cmd_role(args) -> int:
    from geo.access import auth
    from geo.access.permissions import SYSTEM, role_label

    with _store(args) as store:
        user = auth.set_role(store, SYSTEM, args.username, args.role, _codes(args.comuni))
    comuni = f", comuni {', '.join(user.comuni)}" if user.comuni else ""
    print(f"Utente {user.username}: ruolo {role_label(user.role)}{comuni}.")
    return 0


def cmd_roles(args) -> int:
    del args
    from geo.access.permissions import EVERYONE, matrix_table, role_label

    rows = matrix_table()
    width = max(len(r["azione"]) for r in rows) + 2
    print("Permessi per ruolo («propri»: solo nel territorio dei comuni dell'utente).")
    print(f"{'azione':<{width}}" + "".join(f"{role_label(r)[:14]:<16}" for r in EVERYONE))
    for r in rows:
        print(f"{r['azione']:<{width}}" + "".join(f"{_MATRIX_MARK[r[role]]:<16}" for role in EVERYONE))
    return 0


def add_parser(sub, make: Callable, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``users`` and its commands (``make`` and ``common`` are :mod:`geo.cli.main`'s helpers)."""
    from geo.access.privacy import ROLES

    p = make(sub, "users", help="utenti locali: creazione, elenco, password, disattivazione, ruoli",
             description="Gestione degli utenti locali della dashboard. Le password non si passano mai come "
                         "argomento: vengono chieste due volte o lette da standard input (--password-stdin).")
    group = p.add_subparsers(dest="users_command", metavar="azione", required=True)
    roles = ", ".join(ROLES)

    q = make(group, "add", help="crea un utente")
    common(q)
    q.add_argument("username", help="nome utente (3-40 caratteri: minuscole, cifre, . _ -)")
    q.add_argument("--ruolo", "--role", dest="role", required=True, choices=list(ROLES), metavar="RUOLO",
                   help=f"ruolo: {roles}")
    q.add_argument("--comuni", default=None, help="codici ISTAT separati da virgola (solo per il ruolo comune)")
    q.add_argument("--nome", "--name", dest="name", default=None, help="nome mostrato")
    q.add_argument("--email", default=None, help="e-mail per l'accesso con il provider dell'ente (OIDC)")
    how = q.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="legge la password dalla prima riga di stdin")
    how.add_argument("--senza-password", "--no-password", dest="no_password", action="store_true",
                     help="nessuna password locale: accesso solo con il provider dell'ente")
    q.set_defaults(func=cmd_add)

    q = make(group, "list", help="elenca gli utenti")
    common(q)
    q.set_defaults(func=cmd_list)

    q = make(group, "passwd", help="imposta una nuova password")
    common(q)
    q.add_argument("username", help="nome utente")
    q.add_argument("--password-stdin", action="store_true", help="legge la password dalla prima riga di stdin")
    q.set_defaults(func=cmd_passwd)

    q = make(group, "disable", help="disattiva un utente (le sue sessioni terminano)")
    common(q)
    q.add_argument("username", help="nome utente")
    q.set_defaults(func=_set_active(False))

    q = make(group, "enable", help="riattiva un utente")
    common(q)
    q.add_argument("username", help="nome utente")
    q.set_defaults(func=_set_active(True))

    q = make(group, "role", help="cambia ruolo e comuni di un utente")
    common(q)
    q.add_argument("username", help="nome utente")
    q.add_argument("role", choices=list(ROLES), metavar="RUOLO", help=f"ruolo: {roles}")
    q.add_argument("--comuni", default=None, help="codici ISTAT separati da virgola (solo per il ruolo comune)")
    q.set_defaults(func=cmd_role)

    q = make(group, "roles", help="mostra la matrice dei permessi per ruolo")
    common(q)
    q.set_defaults(func=cmd_roles)

