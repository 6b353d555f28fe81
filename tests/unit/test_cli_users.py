"""``python -m geo users …``: accounts from the command line, passwords never from the arguments."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from geo.access import auth
from geo.cli import users as cli_users
from geo.cli.main import build_parser, main
from geo.data.storage import Store
from tests.unit.auth_store import CARRARA, CHEAP, MASSA

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def cheap(monkeypatch):
    monkeypatch.setattr(auth, "HASHER", CHEAP)


@pytest.fixture
def db(mc_db_file, tmp_path) -> Path:
    path = tmp_path / "cli.duckdb"
    path.write_bytes(mc_db_file.read_bytes())
    return path


def _run(db: Path, *args: str, stdin: str = "", monkeypatch=None) -> int:
    if monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["users", *args, "--db", str(db)])


def test_add_list_passwd_disable_role(db, monkeypatch, capsys):
    assert _run(db, "add", "mario.rossi", "--ruolo", "comune", "--comuni", "45010", "--nome", "Mario Rossi",
                "--email", "mario@comune.example", "--password-stdin", stdin="password-di-mario\n",
                monkeypatch=monkeypatch) == 0
    assert "Utente creato: mario.rossi" in capsys.readouterr().out
    with Store(db) as store:
        user = auth.authenticate(store, "mario.rossi", "password-di-mario")
        assert user.comuni == (MASSA,)
        assert user.email == "mario@comune.example"
    assert _run(db, "passwd", "mario.rossi", "--password-stdin", stdin="password-nuova-2026\n",
                monkeypatch=monkeypatch) == 0
    assert _run(db, "role", "mario.rossi", "comune", "--comuni", f"{MASSA},{CARRARA}") == 0
    assert "comuni 045003, 045010" in capsys.readouterr().out
    assert _run(db, "disable", "mario.rossi") == 0
    assert _run(db, "list") == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("mario.rossi"))
    assert "Comune" in line
    assert " no " in line
    assert "mario@comune.example" in line
    with Store(db) as store, pytest.raises(auth.AuthError):
        auth.authenticate(store, "mario.rossi", "password-nuova-2026")
    assert _run(db, "enable", "mario.rossi") == 0
    with Store(db) as store:
        assert auth.authenticate(store, "mario.rossi", "password-nuova-2026").comuni == (CARRARA, MASSA)
        actions = store.audit_frame(table="users")["action"].tolist()
        assert actions.count("utente_modificato") == 3
        assert "password_cambiata" in actions
        assert set(store.audit_frame(table="users")["username"]) >= {"sistema"}


def test_italian_errors_and_exit_codes(db, monkeypatch, capsys):
    assert _run(db, "add", "x", "--ruolo", "osservatore", "--password-stdin", stdin="password-valida-1\n",
                monkeypatch=monkeypatch) == 2
    assert "Nome utente non valido" in capsys.readouterr().err
    assert _run(db, "add", "vigile", "--ruolo", "comune", "--password-stdin", stdin="password-valida-1\n",
                monkeypatch=monkeypatch) == 2
    assert "almeno un codice ISTAT" in capsys.readouterr().err
    assert _run(db, "add", "vigile", "--ruolo", "comune", "--comuni", MASSA, "--password-stdin", stdin="corta\n",
                monkeypatch=monkeypatch) == 2
    assert "almeno 10 caratteri" in capsys.readouterr().err
    assert _run(db, "passwd", "nessuno", "--password-stdin", stdin="password-valida-1\n",
                monkeypatch=monkeypatch) == 2
    assert "Utente sconosciuto" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        _run(db, "add", "vigile", "--ruolo", "sindaco")
    assert exc.value.code == 2
    assert "scelta non valida" in capsys.readouterr().err
    assert main(["users", "list", "--db", str(db.with_name("manca.duckdb"))]) == 2
    assert "Database non trovato" in capsys.readouterr().err


def test_database_in_use_gives_an_italian_message(db, capsys):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); "
                               "print('ok', flush=True); time.sleep(60)", str(db)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"ok"
        assert main(["users", "list", "--db", str(db)]) == 2
        assert "già aperto" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()


def test_password_is_never_an_argument():
    parser = build_parser()
    for command in ("add", "passwd"):
        with pytest.raises(SystemExit):
            parser.parse_args(["users", command, "mario", "--ruolo", "osservatore", "--password", "segreta-123"])
    help_text = subprocess.run([sys.executable, "-m", "geo", "users", "add", "--help"], cwd=ROOT, capture_output=True,
                               text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert "--password-stdin" in help_text
    assert "--password " not in help_text
    assert "uso:" in help_text


def test_password_prompt_asks_twice_and_refuses_a_mismatch():
    class Args:
        password_stdin = False

    answers = iter(["password-lunga-1", "password-lunga-1"])
    assert cli_users.read_password(Args(), prompt=lambda _: next(answers)) == "password-lunga-1"
    answers = iter(["password-lunga-1", "password-lunga-2"])
    with pytest.raises(ValueError, match="non coincidono"):
        cli_users.read_password(Args(), prompt=lambda _: next(answers))
    with pytest.raises(ValueError, match="--password-stdin"):
        cli_users.read_password(Args(), stdin=io.StringIO("x\n"))  # no terminal, no prompt
    Args.password_stdin = True
    assert cli_users.read_password(Args(), stdin=io.StringIO("con spazi dentro \n")) == "con spazi dentro "


def test_without_password_only_the_provider(db, capsys):
    assert _run(db, "add", "anna", "--ruolo", "regione", "--email", "anna@regione.example", "--senza-password") == 0
    assert "solo con il provider" in capsys.readouterr().out
    with Store(db) as store:
        assert store.user_row("anna")["password_hash"] is None
        assert auth.user_for_identity(store, "anna@regione.example").role == "regione"


def test_roles_prints_the_matrix(db, capsys):
    assert _run(db, "roles") == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("view_audit"))
    assert line.split()[1:] == ["sì", "–", "–", "–", "–"]
    line = next(x for x in out.splitlines() if x.startswith("create_report"))
    assert line.split()[1:] == ["sì", "–", "–", "propri", "–"]
