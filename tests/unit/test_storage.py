import threading
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from geo.data.loader import load_territory_into_store
from geo.data.storage import SCHEMA_VERSION, StorageError, Store
from geo.data.territory import load_territory


@pytest.fixture
def store(tmp_path, tiny_territory_dir):
    s = Store(tmp_path / "t.duckdb")
    load_territory_into_store(s, load_territory(tiny_territory_dir))
    yield s
    s.close()


def _incident_rows(store, n=3):
    cells = store.query("SELECT cell FROM cells ORDER BY cell LIMIT ?", [n])["cell"]
    return pd.DataFrame({
        "cell": cells, "month": [date(2024, 1, 1)] * n, "category": ["rapine"] * n,
        "time_band": ["notte", "giorno", "notte"][:n], "outdoor": [True, False, False][:n],
        "count": [4, 2, 1][:n], "synthetic": [True] * n, "source": ["t"] * n, "import_id": [None] * n,
    })


def test_schema_version_recorded(store):
    assert store.get_meta("schema_version") == str(SCHEMA_VERSION)


def test_transaction_rolls_back_on_error(store):
    before = store.count("incidents")
    def write_then_fail() -> None:
        with store.transaction() as cur:
            Store.write_frame(cur, "incidents", _incident_rows(store))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_then_fail()
    assert store.count("incidents") == before


def test_upsert_creates_no_duplicates(store):
    row = pd.DataFrame({"pl_id": ["A"], "lon": [9.47], "lat": [45.3], "cell": [1], "technology": ["led"],
                        "status": ["funzionante"], "synthetic": [False]})
    for _ in range(2):
        with store.transaction() as cur:
            Store.write_frame(cur, "lighting", row, mode="upsert")
    assert store.count("lighting") == 1


def test_incidents_rollup_and_filters(store):
    with store.transaction() as cur:
        Store.write_frame(cur, "incidents", _incident_rows(store))
    by10 = store.incidents_by_cell(10)
    assert by10["incidents"].sum() == 7
    assert by10["night"].sum() == 5
    assert by10["night_outdoor"].sum() == 4
    by7 = store.incidents_by_cell(7)
    assert by7["incidents"].sum() == 7
    assert len(by7) <= len(by10)
    assert store.incidents_by_cell(10, time_band="giorno")["incidents"].sum() == 2
    assert store.incidents_by_cell(10, categories=["furti_altri"]).empty
    assert store.incidents_by_cell(10, start=date(2024, 2, 1)).empty
    series = store.incidents_series(by=["category"])
    assert series["incidents"].tolist() == [7]
    assert store.period() == (date(2024, 1, 1), date(2024, 1, 1))
    with pytest.raises(ValueError, match="Risoluzione"):
        store.incidents_by_cell(6)


def test_cell_context_residents_add_up(store):
    ctx = store.cell_context(8)
    assert ctx["residents"].sum() == pytest.approx(15000)
    assert set(ctx["pro_com_t"]) == {"098001", "098002"}


def test_cell_lookup_outside_is_nan(store):
    inside = store.query("SELECT cell FROM cells LIMIT 1")["cell"].iloc[0]
    got = store.cell_lookup(np.array([inside, 1234]))
    assert got.iloc[0] in {"098001", "098002"}
    assert pd.isna(got.iloc[1])


def test_second_writer_gets_italian_error(tmp_path):
    path = tmp_path / "locked.duckdb"
    code = (
        "import sys, time; from geo.data.storage import Store; s = Store(sys.argv[1]); "
        "print('ready', flush=True); time.sleep(30)"
    )
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        with pytest.raises(StorageError, match="già aperto in scrittura"):
            Store(path)
    finally:
        proc.kill()
        proc.wait()


def test_not_a_lanterna_file(tmp_path):
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE x (a INT)")
    con.close()
    with pytest.raises(StorageError, match="schema di Lanterna"):
        Store(path, read_only=True)


def test_threads_use_their_own_cursor(store):
    seen = []

    def work():
        seen.append(store.cursor())  # keep a reference, so ids cannot be reused
        store.count("cells")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in seen}) == 4
    assert store.cursor() not in seen
