"""``python -m geo rank telecamere``: the plan CSV within the budget, the coverage on standard
error, Italian errors, on the demo database."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from geo.cli.main import main


@pytest.fixture(scope="module")
def db(demo_db_file) -> Path:
    return demo_db_file  # only read by the ranking commands


def test_plan_is_written_within_the_budget(db, tmp_path, capsys):
    out = tmp_path / "piani" / "telecamere.csv"
    code = main(["rank", "telecamere", "--db", str(db), "--budget", "40000", "--comune", "Carrara",
                 "--siti", "60", "--output", str(out)])
    assert code == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel in Italian: BOM and ';'
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert "Costo (€)" in header
    assert body, "a 40.000 € budget buys at least one camera"
    cost = [float(r[header.index("Costo (€)")].replace(".", "").replace(",", ".")) for r in body]
    assert sum(cost) <= 40_000
    assert {r[header.index("Comune")] for r in body} == {"Carrara"}
    err = capsys.readouterr().err
    assert "Telecamere:" in err
    assert f"Scritte {len(body)} telecamere" in err


def test_a_missing_database_is_an_italian_error(tmp_path, capsys):
    code = main(["rank", "telecamere", "--db", str(tmp_path / "nessuno.duckdb"), "--budget", "1000"])
    assert code != 0
    assert "Database non trovato" in capsys.readouterr().err
