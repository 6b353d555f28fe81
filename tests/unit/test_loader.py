import pytest

from geo.data.loader import load_territory_into_store
from geo.data.storage import Store
from geo.data.territory import TerritoryError, load_territory


def test_massa_carrara_real_layers(tmp_path):
    with Store(tmp_path / "m.duckdb") as store:
        counts = load_territory_into_store(store, load_territory())
        assert counts["comuni"] == 17
        assert counts["schools"] == 76
        assert counts["confiscated"] == 21
        assert counts["crime_provinces"] == 1166
        assert store.query("SELECT sum(residents) AS r FROM cells")["r"].iloc[0] == pytest.approx(187_274)
        assert store.count("schools", synthetic=True) == 0
        # every real point lies on a cell of the territory
        orphan = store.query("SELECT count(*) AS n FROM schools s LEFT JOIN cells c USING (cell) "
                             "WHERE c.cell IS NULL")["n"].iloc[0]
        assert orphan <= 1  # a kindergarten on a comune edge may fall on a neighbour's centre cell


def test_reload_is_idempotent(tmp_path, tiny_territory_dir):
    t = load_territory(tiny_territory_dir)
    with Store(tmp_path / "t.duckdb") as store:
        first = load_territory_into_store(store, t)
        second = load_territory_into_store(store, t)
        assert first == second
        assert store.count("cells") == first["cells"]


def test_other_territory_in_same_file_refused(tmp_path, tiny_territory_dir):
    with Store(tmp_path / "t.duckdb") as store:
        load_territory_into_store(store, load_territory(tiny_territory_dir))
        with pytest.raises(TerritoryError, match="contiene il territorio"):
            load_territory_into_store(store, load_territory())
