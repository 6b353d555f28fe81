"""Importing a camera inventory (CSV, GeoJSON): all or nothing, Italian messages, v4 table."""

from __future__ import annotations

import geopandas as gpd
import pytest

from geo.data.io import ImportFailed
from geo.ingest.importers import import_file

MASSA = (44.0357, 10.1402)
CARRARA = (44.0790, 10.0977)


def test_csv_import_with_italian_headers(mc_store, mc_territory, tmp_path):
    path = tmp_path / "telecamere.csv"
    path.write_text("codice;tipo;direzione;angolo;portata;proprietario;sala_controllo;stato;anno;lat;lon\n"
                    f"T1;PTZ;;;60;Polizia locale;Centrale PL;attivo;2021;{MASSA[0]};{MASSA[1]}\n"
                    f"T2;fissa;90;60;70,5;Questura;Sala operativa;guasto;2019;{CARRARA[0]};{CARRARA[1]}\n",
                    encoding="utf-8")
    result = import_file(mc_store, mc_territory, "telecamere", path)
    assert result.rows_written == 2
    rows = mc_store.query("SELECT * FROM cameras WHERE camera_id IN ('T1','T2') ORDER BY camera_id")
    assert rows["kind"].tolist() == ["dome", "fissa"]
    assert rows["owner"].tolist() == ["comune", "polizia"]
    assert rows["status"].tolist() == ["attiva", "guasta"]
    assert rows["range_m"].tolist() == [60.0, 70.5]
    assert rows["pro_com_t"].tolist() == ["045010", "045003"]
    assert not rows["synthetic"].any()


def test_bad_rows_refuse_the_whole_file(mc_store, mc_territory, tmp_path):
    before = mc_store.count("cameras")
    path = tmp_path / "errata.csv"
    path.write_text("codice;tipo;proprietario;direzione;lat;lon\n"
                    f"E1;fissa;comune;400;{MASSA[0]};{MASSA[1]}\n"
                    f"E2;satellite;comune;10;{MASSA[0]};{MASSA[1]}\n"
                    f"E3;dome;comune;;{MASSA[0]};{MASSA[1]}\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as exc:
        import_file(mc_store, mc_territory, "telecamere", path)
    assert "nessuna riga è stata scritta" in str(exc.value)
    report = exc.value.report
    assert set(report["riga"].astype(int)) == {2, 3}
    assert mc_store.count("cameras") == before


def test_missing_owner_column_is_named(mc_store, mc_territory, tmp_path):
    path = tmp_path / "senza_proprietario.csv"
    path.write_text(f"codice;tipo;lat;lon\nX1;dome;{MASSA[0]};{MASSA[1]}\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"(?i)proprietario"):
        import_file(mc_store, mc_territory, "telecamere", path)


def test_geojson_import(mc_store, mc_territory, tmp_path):
    gdf = gpd.GeoDataFrame({"id": ["G1"], "tipo": ["lettura targhe"], "proprietario": ["privato"]},
                           geometry=gpd.points_from_xy([CARRARA[1]], [CARRARA[0]]), crs=4326)
    path = tmp_path / "tlc.geojson"
    gdf.to_file(path, driver="GeoJSON")
    import_file(mc_store, mc_territory, "cameras", path)
    row = mc_store.query("SELECT kind, owner FROM cameras WHERE camera_id = 'G1'")
    assert row.iloc[0].tolist() == ["lettura_targhe", "privato_convenzionato"]


def test_v3_database_gets_the_cameras_table(tmp_path):
    from geo.data.storage import SCHEMA_VERSION, Store

    path = tmp_path / "old.duckdb"
    with Store(path) as store, store.transaction() as cur:
        cur.execute("DROP TABLE cameras")
        cur.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with Store(path) as store:
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION) == "5"
        assert store.count("cameras") == 0
