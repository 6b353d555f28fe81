"""``python -m geo interventi crea --da-zona / --da-piano / --da-segnalazioni / --segnalazioni`` on
the demo database (``demo_db_file``, built once; every test works on its own copy)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import h3
import pytest

from geo.access.permissions import SYSTEM
from geo.cli.main import main
from geo.data.storage import Store
from geo.interventions import links
from geo.interventions import start as start_logic
from geo.zones.priority import DEFAULT_PRESET

CARRARA = "045003"


@pytest.fixture
def db(demo_db_file, tmp_path) -> Path:
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_db_file, path)
    return path


def _last(db: Path) -> tuple[dict, list[int]]:
    """The intervention registered last (not a synthetic one of the demo)."""
    with Store(db, read_only=True) as store:
        frame = store.interventions_frame()
        frame = frame[~frame["synthetic"]].sort_values("created_at")
        iid = frame["intervention_id"].iloc[-1]
        return store.intervention_row(iid), store.intervention_cells(iid)


def test_da_zona_registers_the_zone_of_the_ranking(db, capsys):
    with Store(db, read_only=True) as store:
        ranking = start_logic.zone_ranking(store, preset=DEFAULT_PRESET, res=9, comuni=(CARRARA,))
    first = str(ranking.zones["zone"].iloc[0])  # a stable id derived from the zone's cells, e.g. Z-7K3M
    assert main(["interventi", "crea", "--db", str(db), "--da-zona", first.lower(), "--comune", CARRARA,
                 "--responsabile", "Comune di Carrara"]) == 0
    iid = capsys.readouterr().out.strip()
    row, cells = _last(db)
    assert row["intervention_id"] == iid
    expected = sorted(int(c) for c in ranking.zones.set_index("zone").at[first, "cells"])
    assert cells == expected
    assert (row["kind"], row["pro_com_t"], row["responsible"]) == ("zona_pilota", CARRARA, "Comune di Carrara")
    assert first in row["title"]
    assert row["start_date"] == date.today()


def test_da_piano_registers_the_plan_hexagons_and_cost(db, capsys):
    assert main(["interventi", "crea", "--db", str(db), "--da-piano", "--budget", "150000",
                 "--comune", CARRARA, "--inizio", "2025-06"]) == 0
    capsys.readouterr()
    row, cells = _last(db)
    with Store(db, read_only=True) as store:
        plan = start_logic.lighting_plan(store, budget=150_000, res=9, comuni=(CARRARA,))
    assert cells == sorted({int(c) for c in plan.selected["cell"]})
    assert row["kind"] == "illuminazione"
    assert row["cost_eur"] == pytest.approx(plan.totals["cost_eur"])
    assert 0 < row["cost_eur"] <= 150_000
    assert row["pro_com_t"] == CARRARA  # a plan of one comune
    assert row["start_date"] == date(2025, 6, 1)


def test_da_segnalazioni_and_linked_reports(db, capsys):
    with Store(db, read_only=True) as store:
        reports = store.reports_frame(comuni=[CARRARA]).sort_values("report_id")
    ids = list(reports["report_id"].head(2))
    assert main(["interventi", "crea", "--db", str(db), "--da-segnalazioni", "--segnalazioni", ",".join(ids)]) == 0
    row, cells = _last(db)
    expected = {h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), 9))
                for c in reports.set_index("report_id").loc[ids, "cell"]}
    assert set(cells) == expected
    assert row["kind"] == "decoro"
    with Store(db, read_only=True) as store:
        shown, hidden = links.linked_reports(store, SYSTEM, row)
    assert sorted(shown["report_id"]) == sorted(ids)
    assert hidden == 0
    # --celle with --segnalazioni links them too; an unknown report is refused in Italian
    cell = h3.int_to_str(sorted(expected)[0])
    assert main(["interventi", "crea", "--db", str(db), "--celle", cell, "--tipo", "pattugliamento", "--titolo",
                 "Pattuglie", "--inizio", "2025-01", "--segnalazioni", ids[0]]) == 0
    assert _last(db)[0]["report_ids"] == ids[0]
    capsys.readouterr()
    assert main(["interventi", "crea", "--db", str(db), "--celle", cell, "--tipo", "decoro", "--titolo", "X",
                 "--inizio", "2025-01", "--segnalazioni", "SEG-NESSUNA"]) == 2
    assert "inesistente" in capsys.readouterr().err


def test_missing_options_are_refused_in_italian(db, capsys):
    assert main(["interventi", "crea", "--db", str(db), "--da-piano"]) == 2
    assert "--budget" in capsys.readouterr().err
    assert main(["interventi", "crea", "--db", str(db), "--celle", "891f8d7a49bffff"]) == 2
    assert "--tipo" in capsys.readouterr().err
    assert main(["interventi", "crea", "--db", str(db), "--da-zona", "Z99", "--comune", CARRARA]) == 2
    assert "Z99" in capsys.readouterr().err
