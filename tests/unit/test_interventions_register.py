"""The interventions register: create, list, status, permissions, audit, monitoring report."""

from __future__ import annotations

from datetime import date

import h3
import pytest

from geo.access import audit, auth
from geo.access.permissions import PermissionDenied
from geo.interventions import register as reg
from geo.interventions import report as rep
from tests.unit.auth_store import CARRARA, MASSA, SCRIPT

CELLS = [h3.str_to_int(c) for c in h3.grid_disk(h3.latlng_to_cell(44.035, 10.14, 9), 1)]


pytestmark = pytest.mark.usefixtures("cheap_hasher")


@pytest.fixture
def store(users_store):
    return users_store


@pytest.fixture
def who(store):
    return {name: auth.get_user(store, name) for name in ("prefettura", "polizia", "osservatore", "comune-massa",
                                                          "comune-carrara")}


def _create(store, user, **kw):
    args = {"kind": "zona_pilota", "title": "Presidio piazza", "cells": CELLS, "res": 9, "start": date(2024, 3, 1),
            "cost_eur": 12000.0, "responsible": "Polizia Locale", "pro_com_t": MASSA}
    return reg.create_intervention(store, user, **{**args, **kw})


def test_create_list_and_change_status_with_history_and_audit(store, who):
    before = store.audit_count()
    iid = _create(store, who["comune-massa"])
    assert iid == "INT-2024-0001"
    assert _create(store, who["prefettura"], pro_com_t=CARRARA) == "INT-2024-0002"
    row, cells = reg.get_intervention(store, who["prefettura"], iid)
    assert row["status"] == "programmato"
    assert row["cost_eur"] == 12000.0
    assert not row["synthetic"]
    assert cells == sorted(CELLS)
    reg.set_status(store, who["comune-massa"], iid, "in_corso", note="avviato")
    assert store.intervention_row(iid)["status"] == "in_corso"
    events = store.intervention_events(iid)
    assert sorted(events["kind"]) == ["creazione", "stato"]
    log = store.audit_frame(table="interventions")
    assert store.audit_count() == before + 3
    assert sorted(log["action"]) == ["creazione", "creazione", "transizione"]
    assert audit.verify_chain(store).ok


def test_permissions_follow_the_roles_and_the_comuni(store, who):
    for name in ("polizia", "osservatore"):
        with pytest.raises(PermissionDenied):
            _create(store, who[name])
    with pytest.raises(PermissionDenied):
        _create(store, who["comune-carrara"])  # not its comune
    iid = _create(store, who["prefettura"])
    with pytest.raises(PermissionDenied):
        reg.set_status(store, who["comune-carrara"], iid, "sospeso")
    assert list(reg.list_interventions(store, who["comune-carrara"])["intervention_id"]) == []
    assert list(reg.list_interventions(store, who["polizia"])["intervention_id"]) == [iid]


def test_invalid_input_is_refused_in_italian(store, who):
    with pytest.raises(reg.InterventionError, match="almeno un esagono"):
        _create(store, who["prefettura"], cells=[])
    with pytest.raises(reg.InterventionError, match="fine precede"):
        _create(store, who["prefettura"], end=date(2023, 1, 1))
    with pytest.raises(reg.InterventionError, match="obbligatorio"):
        _create(store, who["prefettura"], title="  ")


def test_monitoring_report_escapes_text_and_uses_semicolons(store, who):
    _create(store, who["prefettura"], title=SCRIPT)
    frame = rep.monitoring_frame(store, who["prefettura"], n_placebo=19)
    page = rep.html_report(frame)
    assert SCRIPT not in page
    assert "&lt;script&gt;" in page
    text = rep.csv_bytes(frame).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Codice;Titolo;Tipo;Stato")
    assert "12.000" in text  # Italian thousands separator
    assert frame.loc[0, "nota"]  # the tiny store is too short to evaluate: the Italian reason is shown


def test_version_3_file_is_migrated_to_4(mc_db_file, tmp_path):
    import shutil

    import duckdb

    from geo.data.storage import SCHEMA_VERSION, StorageError, Store

    path = tmp_path / "v3.duckdb"
    shutil.copy(mc_db_file, path)
    con = duckdb.connect(str(path))
    for table in ("interventions", "intervention_cells", "intervention_events"):
        con.execute(f"DROP TABLE {table}")
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StorageError, match="aggiornarlo"):
        Store(path, read_only=True)
    with Store(path) as store:
        assert SCHEMA_VERSION == 5
        assert store.get_meta("schema_version") == "5"
        assert store.interventions_frame().empty


def test_cli_creates_lists_and_refuses_a_short_evaluation(mc_db_file, tmp_path, capsys):
    from geo.cli.main import main

    db = tmp_path / "cli.duckdb"
    db.write_bytes(mc_db_file.read_bytes())
    cells = ",".join(h3.int_to_str(c) for c in CELLS)
    assert main(["interventi", "crea", "--db", str(db), "--tipo", "decoro", "--titolo", "Pulizia", "--celle", cells,
                 "--inizio", "2024-05", "--costo", "5000", "--comune", MASSA]) == 0
    assert capsys.readouterr().out.strip() == "INT-2024-0001"
    assert main(["interventi", "elenca", "--db", str(db)]) == 0
    assert "Decoro da segnalazioni" in capsys.readouterr().out
    assert main(["interventi", "valuta", "INT-2024-0001", "--db", str(db)]) == 2  # no incidents: refused
    assert "Errore" in capsys.readouterr().err
    assert main(["interventi", "crea", "--db", str(db), "--tipo", "decoro", "--titolo", "X", "--celle", "zz",
                 "--inizio", "2024-05"]) == 2


def test_the_list_names_each_intervention_by_the_place_of_its_core_hexagon(store, who):
    _create(store, who["prefettura"])
    _create(store, who["prefettura"], pro_com_t=CARRARA, cells=CELLS[:1])
    items = reg.list_interventions(store, who["prefettura"]).sort_values("intervention_id")
    comuni = dict(zip(store.comuni()["pro_com_t"], store.comuni()["nome"], strict=True))
    # the same hexagons, another comune: the place is looked up among that comune's localities
    for label, code in zip(items["luogo"], (MASSA, CARRARA), strict=True):
        assert label == comuni[code] or label.endswith(f"({comuni[code]})")
    assert items["luogo"].iloc[0] != items["luogo"].iloc[1]
