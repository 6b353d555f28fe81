"""``python -m geo rank lighting``: outputs, options and Italian errors, on the hand-made database of
``tests/unit/lighting_store.py``."""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from lighting_store import HEX_A, HEX_C, build_lighting_store

from geo.cli.lighting import _euros, parse_shares
from geo.cli.main import main
from geo.data import hexgrid

ROOT = Path(__file__).resolve().parents[2]
C = hexgrid.to_str([HEX_C])[0]
A = hexgrid.to_str([HEX_A])[0]


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli-lighting") / "lighting.duckdb"
    build_lighting_store(path).close()
    return path


def run(db: Path, *args: str) -> int:
    try:
        return main(["rank", "lighting", "--db", str(db), *args])
    except SystemExit as exc:  # argparse's usage errors
        return int(exc.code)


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    return rows[0], rows[1:]


def test_csv_plan_for_a_budget(db, tmp_path, capsys):
    out = tmp_path / "piano.csv"
    assert run(db, "--budget", "3.000", "-o", str(out)) == 0
    header, rows = read_csv(out)
    assert header[:7] == ["Posizione", "Intervento", "Esagono H3", "Comune", "Località", "Codice ISTAT", "Tipo"]
    # Night-time outdoor incidents: protected (cell-key) for the default role (never 1 or 2, never "< 3"),
    # and the prevented incidents are numbers computed from them
    col = header.index("Delitti notturni all'aperto nel periodo")
    assert rows
    assert all(r[col].isdigit() and int(r[col]) not in (1, 2) for r in rows)
    assert not any("riservato" in cell for r in rows for cell in r)
    err = capsys.readouterr().err
    assert "intervallo" in err
    assert "ritorno semplice" in err
    assert "riservato" not in err
    # Worked example with clearance (tests/unit/test_lighting_plan.py): A's repair then C's LED replacement.
    exact = tmp_path / "esatto.csv"
    assert run(db, "--budget", "3.000", "--ruolo", "prefettura", "-o", str(exact)) == 0
    header, rows = read_csv(exact)
    assert [r[1] for r in rows] == [f"{A}-R", f"{C}-L"]
    assert rows[0][3] == "Massa"
    assert rows[0][4] == "Massa"  # the tiny database has no localities: the place is the comune
    assert rows[0][header.index("Tipo")] == "Riparazione guasti"
    assert rows[0][header.index("Costo (€)")] == "500,0"
    assert rows[1][header.index("Costo cumulato (€)")] == "2900,0"
    assert rows[1][header.index("Delitti notturni all'aperto nel periodo")] == "24"
    assert "Piano ottimo: 2 interventi, 2.900 € su 3.000 €" in capsys.readouterr().err


def test_geojson_and_html_outputs(db, tmp_path):
    gj = tmp_path / "piano.geojson"
    assert run(db, "--budget", "100000", "--format", "geojson", "-o", str(gj)) == 0
    data = json.loads(gj.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    assert data["features"]
    first = data["features"][0]
    assert first["geometry"]["type"] == "Polygon"
    assert first["properties"]["Intervento"][:15] in (A, C)
    meta = data["lanterna"]
    assert meta["budget_eur"] == 100000.0
    assert meta["effetto_basso_centrale_alto"]["furti"] == [0.0, 0.21, 0.36]
    assert meta["effetto_basso_centrale_alto"]["danneggiamenti"] == [0.0, 0.0, 0.0]
    assert meta["delitti_evitati_anno"][0] <= meta["delitti_evitati_anno"][1] <= meta["delitti_evitati_anno"][2]
    page = tmp_path / "piano.html"
    assert run(db, "--budget", "100000", "--format", "html", "-o", str(page)) == 0
    text = page.read_text(encoding="utf-8")
    for needle in ("Welsh", "Chalfin", "Painter", "Steinbach", "prezzario", "ISPRA", "intervallo", "4.200"):
        assert needle in text, needle


def test_options_change_the_plan(db, tmp_path):
    out = tmp_path / "p.csv"
    # Outskirts only: everything in C.
    assert run(db, "--budget", "1000000", "--periferie", "-o", str(out)) == 0
    header, rows = read_csv(out)
    assert rows
    assert all(r[header.index("Periferia")] == "sì" for r in rows)
    # Excluding C's repair and forcing A's.
    assert run(db, "--budget", "3000", "--escludi", f"{C}-R", "--forza", f"{A}-R", "-o", str(out)) == 0
    ids = [r[1] for r in read_csv(out)[1]]
    assert f"{C}-R" not in ids
    assert f"{A}-R" in ids
    # Cheaper repairs and a maximum share: Carrara has no candidate, so Massa cannot stay under 50 %
    # of the plan except with an empty plan.
    assert run(db, "--budget", "3000", "--quota-max", "0.5", "-o", str(out)) == 0
    assert read_csv(out)[1] == []
    # LED at 700 €: C's LED (2,800 €, 0.0233) no longer fits with A's repair (500 €, 0.031); the best
    # plan (exact counts) is the repairs of A and C (0.031 + 0.0133), not the LED alone.
    assert run(db, "--budget", "3000", "--costo-led", "700", "--ruolo", "prefettura", "-o", str(out)) == 0
    assert [r[1] for r in read_csv(out)[1]] == [f"{A}-R", f"{C}-R"]


def test_stdout_when_no_output_file(db, capfd):
    assert run(db, "--budget", "3000") == 0
    captured = capfd.readouterr()
    assert captured.out.startswith("Posizione;Intervento")
    assert len(captured.out.splitlines()) == 3  # header and the two interventions, nothing else


@pytest.mark.parametrize(("args", "message"), [
    (["--budget", "dieci"], "importo non valido"),
    (["--budget", "1000", "--forza", "nessuno"], "Interventi sconosciuti"),
    (["--budget", "1", "--forza", f"{C}-N1"], "più del budget"),
    (["--budget", "1000", "--quota-min", "2"], "quota non valida"),
    (["--budget", "1000", "--inizio", "2024-13"], "mese non valido"),
    (["--budget", "1000", "--comune", "Pisa"], "Comune sconosciuto"),
    (["--budget", "1000", "--base", "strade"], "livello stradale"),
    (["--budget", "1000", "--effetto-basso", "0.5"], "basso ≤ centrale ≤ alto"),
])
def test_errors_are_italian(db, capsys, args, message):
    code = run(db, *args)
    assert code == 2
    assert message in capsys.readouterr().err


def test_missing_database(tmp_path, capsys):
    assert main(["rank", "lighting", "--db", str(tmp_path / "no.duckdb"), "--budget", "10"]) == 2
    assert "Database non trovato" in capsys.readouterr().err


def test_amount_and_share_parsing():
    assert _euros("1.000.000") == 1_000_000.0
    assert _euros("1_000_000") == 1_000_000.0
    assert _euros("1e6") == 1_000_000.0
    assert _euros("250,50") == 250.5
    assert _euros("€ 2.500") == 2500.0
    for bad in ("-5", "abc", "inf"):
        with pytest.raises(argparse.ArgumentTypeError):
            _euros(bad)
    assert parse_shares("0.05", "--quota-min") == 0.05
    assert parse_shares("45010=0.2,045003=0.1", "--quota-min") == {"045010": 0.2, "045003": 0.1}
    with pytest.raises(ValueError, match="quota non valida"):
        parse_shares("045010=1.2", "--quota-min")


def test_help_is_italian_through_the_real_entry_point():
    proc = subprocess.run([sys.executable, "-m", "geo", "rank", "lighting", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0
    assert "uso:" in proc.stdout
    assert "--budget EURO" in proc.stdout
    assert "prezzario regionale" in proc.stdout
    missing = subprocess.run([sys.executable, "-m", "geo", "rank", "lighting"], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
    assert missing.returncode == 2
    assert "mancano gli argomenti obbligatori" in missing.stderr


def test_hidden_totals_stay_hidden_in_cli_outputs(db, tmp_path, capsys, monkeypatch):
    # a plan that includes a suppressed hexagon (the rule itself: test_lighting_report_privacy.py)
    from geo.lighting import report as lighting_report
    monkeypatch.setattr(lighting_report, "totals_hidden", lambda *_: True)
    gj = tmp_path / "piano.geojson"
    assert run(db, "--budget", "100000", "--format", "geojson", "-o", str(gj)) == 0
    assert json.loads(gj.read_text(encoding="utf-8"))["lanterna"]["delitti_evitati_anno"] == "riservato"
    assert "evitati all'anno: riservato" in capsys.readouterr().err
