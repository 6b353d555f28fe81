"""``python -m geo rank zones``: outputs, options and Italian errors, on the demo database."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from geo.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def db(demo_db_file, tmp_path_factory) -> Path:
    import shutil

    path = tmp_path_factory.mktemp("cli-zones") / "demo.duckdb"
    shutil.copyfile(demo_db_file, path)  # the session's demo (tests/conftest.py)
    return path


def run(db: Path, *args: str) -> int:
    return main(["rank", "zones", "--db", str(db), "--comune", "Carrara", "--res", "9", *args])


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    return rows[0], rows[1:]


def test_csv_ranking(db, tmp_path, capsys):
    out = tmp_path / "zone.csv"
    assert run(db, "--profilo", "sicurezza", "--top", "5", "--output", str(out)) == 0
    assert "Scritte 5 zone pilota" in capsys.readouterr().err
    header, rows = read_csv(out)
    assert header[:4] == ["Rango", "Zona", "Luogo", "Comuni"]
    assert "P(tra le prime 5)" in header
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5"]
    assert re.fullmatch(r"Z-[0-9A-Z]{4}(-\d+)?", rows[0][1])
    assert len({r[1] for r in rows}) == 5
    assert all(r[3] == "Carrara" for r in rows)
    assert all(r[2].endswith("(Carrara)") or r[2] == "Carrara" for r in rows)


def test_same_options_same_bytes_and_seed_matters_only_for_robustness(db, tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    for path, seed in ((a, "7"), (b, "7"), (c, "8")):
        assert run(db, "--seed", seed, "--simulazioni", "50", "--output", str(path)) == 0
    assert a.read_bytes() == b.read_bytes()
    header, rows_a = read_csv(a)
    _, rows_c = read_csv(c)
    zone_cols = [header.index(k) for k in ("Zona", "Celle H3", "Priorità (0-100)")]
    assert [[r[i] for i in zone_cols] for r in rows_a] == [[r[i] for i in zone_cols] for r in rows_c]


def test_custom_weights_and_bounds(db, tmp_path):
    out = tmp_path / "w.csv"
    assert run(db, "--pesi", "reports=3,lighting_deficit=1", "--min-km2", "0.5", "--max-km2", "1.5", "--top", "0",
               "--output", str(out)) == 0
    header, rows = read_csv(out)
    area = header.index("Superficie (km²)")
    assert len(rows) > 5  # --top 0 writes every zone
    assert all(0.5 - 1e-6 <= float(r[area].replace(",", ".")) <= 1.5 + 1e-6 for r in rows)
    drivers = header.index("Fattori principali")
    assert rows[0][drivers].split(", ")[0] in ("Degrado", "Illuminazione")
    assert float(rows[0][header.index("Contributo: Scuole vicine")].replace(",", ".")) == 0


def test_geojson_and_html(db, tmp_path):
    gj, page = tmp_path / "z.geojson", tmp_path / "z.html"
    assert run(db, "--format", "geojson", "--top", "3", "--output", str(gj)) == 0
    data = json.loads(gj.read_text(encoding="utf-8"))
    assert len(data["features"]) == 3
    assert data["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert data["features"][0]["properties"]["Rango"] == 1
    assert data["lanterna"]["risoluzione_h3"] == 9
    assert run(db, "--format", "html", "--top", "3", "--output", str(page)) == 0
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text.count('class="card"') == 3


def test_stdout_output(db, capsys):
    assert run(db, "--format", "geojson", "--top", "1") == 0
    assert json.loads(capsys.readouterr().out)["type"] == "FeatureCollection"


@pytest.mark.parametrize(("args", "message"), [
    (["--min-km2", "5", "--max-km2", "1"], "supera la massima"),
    (["--min-km2", "0.005", "--max-km2", "0.01"], "minore di un esagono"),
    (["--pesi", "foo=1"], "Indicatori sconosciuti: foo"),
    (["--pesi", "harm_rate"], "indicatore=valore"),
    (["--inizio", "2024-13"], "mese non valido"),
    (["--inizio", "2024-06", "--fine", "2024-01"], "successivo"),
    (["--comune", "Atlantide"], "Comune sconosciuto 'Atlantide'"),
    (["--quota-candidati", "0"], "quota-candidati"),
])
def test_user_errors_are_italian(db, capsys, args, message):
    assert run(db, *args) == 2
    assert message in capsys.readouterr().err


def test_missing_database(tmp_path, capsys):
    assert main(["rank", "zones", "--db", str(tmp_path / "nope.duckdb")]) == 2
    assert "Database non trovato" in capsys.readouterr().err


def test_registered_in_the_cli_help():
    out = subprocess.run([sys.executable, "-m", "geo", "rank", "zones", "--help"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    for option in ("--profilo", "--pesi", "--min-km2", "--max-km2", "--top", "--res", "--seed", "--format",
                   "--output"):
        assert option in out
    assert "uso:" in out
    assert "zone pilota" in out
