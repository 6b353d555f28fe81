"""End-to-end imports into a real Massa-Carrara database (geo.ingest.importers)."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geo.data import hexgrid
from geo.data import io as gio
from geo.data.io import ImportFailed
from geo.data.storage import TABLES, Store
from geo.ingest.importers import import_file

MASSA = (44.0357, 10.1402)  # lat, lon
CARRARA = (44.0790, 10.0977)
AULLA = (44.2153, 9.9717)
SEA = (43.90, 9.90)
GEOD = pyproj.Geod(ellps="WGS84")


def counts(store: Store) -> dict[str, int]:
    return {t: store.count(t) for t in TABLES}


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_text(text, encoding=encoding)
    return path


def csv(folder: Path, name: str, rows: list[list[object]], sep: str = ";") -> Path:
    return write(folder, name, "\n".join(sep.join(str(v) for v in row) for row in rows) + "\n")


def schools_csv(folder: Path, name: str = "scuole.csv", *, bad_level_row: int | None = None,
                extra: list[list[object]] = ()) -> Path:
    rows = [["codice", "nome", "grado", "lat", "lon"]]
    for i, (lat, lon) in enumerate([MASSA, CARRARA, AULLA, MASSA, CARRARA]):
        level = "università" if bad_level_row == i + 2 else "primaria"
        rows.append([f"T{i}", f"Scuola {i}", level, lat, lon])
    return csv(folder, name, [*rows, *extra])


def table(store: Store, name: str, **where) -> pd.DataFrame:
    df = store.table(name)
    for col, value in where.items():
        df = df[df[col].astype(str).str.startswith(value)]
    return df.reset_index(drop=True)


def distance_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def points_inside(territory, n: int, seed: int, *, comune: str = "045010") -> tuple[np.ndarray, np.ndarray]:
    """``n`` random points with 7 decimals inside a comune (Massa by default)."""
    rng = np.random.default_rng(seed)
    polygon = territory.comuni.set_index("pro_com_t").loc[comune, "geometry"]
    minx, miny, maxx, maxy = polygon.bounds
    lon = np.round(rng.uniform(minx, maxx, 10 * n), 7)
    lat = np.round(rng.uniform(miny, maxy, 10 * n), 7)
    inside = shapely.contains_xy(polygon.buffer(-0.003), lon, lat)
    return lat[inside][:n], lon[inside][:n]


# -- encodings, CRS ---------------------------------------------------------------------------


def test_cp1252_and_bom_files_give_the_same_rows(mc_store, mc_territory, import_data):
    first = import_file(mc_store, mc_territory, "scuole", import_data / "scuole_cp1252.csv")
    assert first.rows_written == 3
    assert not first.report.size
    second = import_file(mc_store, mc_territory, "schools", import_data / "scuole_utf8_bom.csv")
    assert second.rows_written == 3
    assert not second.already_imported
    rows = mc_store.table("schools").dropna(subset=["import_id"])
    assert len(rows) == 3
    assert set(rows["import_id"]) == {second.import_id}
    by_code = rows.set_index("code")
    assert by_code.loc["MSEE00001", "name"] == "Scuola primaria «Città di Massa»"
    assert by_code.loc["MSAA00003", "address"] == "Località Pallerone"
    assert by_code["pro_com_t"].to_dict() == {"MSEE00001": "045010", "MSMM00002": "045003", "MSAA00003": "045001"}
    assert by_code.loc["MSMM00002", "level"] == "secondaria_i"


def test_csv_gauss_boaga_3003(mc_store, mc_territory, import_data):
    path = import_data / "punti_luce_3003.csv"
    with pytest.raises(ImportFailed, match=r"sembrano coordinate Gauss-Boaga/UTM: indicare il sistema di "
                                           r"riferimento \(es\. EPSG:3003\)"):
        import_file(mc_store, mc_territory, "punti_luce", path)
    assert mc_store.count("lighting") == 0
    result = import_file(mc_store, mc_territory, "punti_luce", path, crs="EPSG:3003")
    assert result.rows_written == 3
    lights = table(mc_store, "lighting").set_index("pl_id")
    assert distance_m(lights.loc["PL-0001", "lon"], lights.loc["PL-0001", "lat"], MASSA[1], MASSA[0]) < 1
    assert distance_m(lights.loc["PL-0003", "lon"], lights.loc["PL-0003", "lat"], CARRARA[1], CARRARA[0]) < 1
    assert lights["technology"].to_dict() == {"PL-0001": "sodio_alta_pressione", "PL-0002": "led",
                                              "PL-0003": "mercurio"}
    assert lights["status"].to_dict() == {"PL-0001": "funzionante", "PL-0002": "funzionante", "PL-0003": "guasto"}
    assert lights.loc["PL-0001", "power_w"] == 150.0


def test_utm_32633(mc_store, mc_territory, tmp_path):
    lats, lons = zip(MASSA, CARRARA, AULLA, strict=True)
    gdf = gpd.GeoDataFrame({"codice": ["U1", "U2", "U3"], "nome": ["a", "b", "c"], "grado": ["primaria"] * 3},
                           geometry=gpd.points_from_xy(lons, lats), crs=4326).to_crs(32633)
    path = tmp_path / "utm33.geojson"
    gdf.to_file(path, driver="GeoJSON")
    assert "32633" in path.read_text()  # the CRS is declared in the file
    import_file(mc_store, mc_territory, "scuole", path)
    rows = table(mc_store, "schools", code="U").sort_values("code")
    assert (distance_m(rows["lon"].to_numpy(), rows["lat"].to_numpy(), np.array(lons), np.array(lats)) < 1).all()


@pytest.mark.parametrize("epsg", list(gio.SUPPORTED_CRS))
def test_each_supported_crs(mc_store, mc_territory, tmp_path, epsg):
    lat, lon = points_inside(mc_territory, 5, seed=epsg)
    x, y = pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    rows = [["pl_id", "tecnologia", "stato", "est", "nord"]]
    rows += [[f"P{i}", "led", "ok", f"{a:.7f}".replace(".", ","), f"{b:.7f}".replace(".", ",")]
             for i, (a, b) in enumerate(zip(x, y, strict=True))]
    path = csv(tmp_path, f"crs_{epsg}.csv", rows)
    result = import_file(mc_store, mc_territory, "lighting", path, crs=f"EPSG:{epsg}")
    assert result.rows_written == 5
    stored = table(mc_store, "lighting").sort_values("pl_id")
    assert (distance_m(stored["lon"].to_numpy(), stored["lat"].to_numpy(), lon, lat) < 1).all()


def test_swapped_coordinates_and_swap_option(mc_store, mc_territory, tmp_path):
    rows = [["codice", "nome", "grado", "latitudine", "longitudine"]]
    rows += [[f"W{i}", "x", "primaria", lon, lat] for i, (lat, lon) in enumerate([MASSA, CARRARA, AULLA])]
    path = csv(tmp_path, "invertite.csv", rows)
    with pytest.raises(ImportFailed, match=r"sembrano invertite.*swap_xy=True"):
        import_file(mc_store, mc_territory, "scuole", path)
    import_file(mc_store, mc_territory, "scuole", path, swap_xy=True)
    stored = table(mc_store, "schools", code="W").sort_values("code")
    assert stored["lat"].tolist() == [MASSA[0], CARRARA[0], AULLA[0]]


# -- row problems, all or nothing ---------------------------------------------------------------


def test_points_outside_territory_rejected_with_row(mc_store, mc_territory, tmp_path):
    path = schools_csv(tmp_path, extra=[["T9", "Scuola in mare", "primaria", SEA[0], SEA[1]]])
    before = counts(mc_store)
    with pytest.raises(ImportFailed) as err:
        import_file(mc_store, mc_territory, "scuole", path)
    report = err.value.report
    assert report[["riga", "campo", "motivo"]].to_dict("records") == [
        {"riga": 7, "campo": "lat", "motivo": "punto fuori dal territorio (Provincia di Massa-Carrara)"}]
    assert report["valore"].iloc[0] == "43.9, 9.9"
    assert counts(mc_store) == before


def test_all_or_nothing_writes_nothing(mc_store, mc_territory, tmp_path):
    path = schools_csv(tmp_path, bad_level_row=4)
    before = counts(mc_store)
    with pytest.raises(ImportFailed) as err:
        import_file(mc_store, mc_territory, "scuole", path)
    assert err.value.messages[0] == ("Importazione di scuole.csv annullata: 1 riga su 5 ha errori; "
                                     "nessuna riga è stata scritta.")
    assert err.value.report["riga"].tolist() == [4]
    assert err.value.report["campo"].tolist() == ["grado"]
    assert counts(mc_store) == before
    assert mc_store.find_import("schools", gio.file_sha256(path)) is None


def test_partial_import_writes_rejects_file(mc_store, mc_territory, tmp_path):
    path = schools_csv(tmp_path, bad_level_row=4,
                       extra=[["T8", "=HYPERLINK(\"http://x\")", "primaria", SEA[0], SEA[1]],
                              ["T9", "-12,5", "asilo", MASSA[0], MASSA[1]]])
    rejects = tmp_path / "out" / "scarti.csv"
    result = import_file(mc_store, mc_territory, "scuole", path, partial=True, rejects_path=rejects)
    assert (result.rows_read, result.rows_written, result.rows_rejected) == (7, 4, 3)
    assert result.rejects_path == rejects
    assert len(table(mc_store, "schools", code="T")) == 4
    raw = rejects.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw
    back = pd.read_csv(rejects, sep=";", encoding="utf-8-sig", dtype=str)
    assert list(back.columns) == ["riga", "codice", "nome", "grado", "lat", "lon", "motivo"]
    assert back["riga"].tolist() == ["4", "7", "8"]
    assert back["motivo"].iloc[0].startswith("grado: valore non ammesso")
    assert back["motivo"].iloc[1] == "lat: punto fuori dal territorio (Provincia di Massa-Carrara)"
    assert back["nome"].tolist()[1:] == ["'=HYPERLINK(\"http://x\")", "-12,5"]  # formula neutralised, number kept
    log = mc_store.find_import("schools", gio.file_sha256(path))
    assert log["rows_written"] == 4


def test_same_file_twice_no_duplicates(mc_store, mc_territory, tmp_path, import_data):
    path = schools_csv(tmp_path)
    first = import_file(mc_store, mc_territory, "scuole", path, user="prefettura")
    after_first = counts(mc_store)
    copy = tmp_path / "copia con altro nome.csv"
    shutil.copy(path, copy)
    second = import_file(mc_store, mc_territory, "scuole", copy)
    assert second.already_imported
    assert second.rows_written == 0
    assert second.import_id == first.import_id
    assert "è già stato importato" in second.messages[0]
    assert "nessuna riga aggiunta" in second.messages[0]
    assert counts(mc_store) == after_first
    events = import_data / "delitti_eventi.csv"
    import_file(mc_store, mc_territory, "delitti", events)
    total = table(mc_store, "incidents")["count"].sum()
    assert import_file(mc_store, mc_territory, "delitti", events).already_imported
    assert table(mc_store, "incidents")["count"].sum() == total == 5


def test_upsert_replaces_changed_rows(mc_store, mc_territory, tmp_path):
    import_file(mc_store, mc_territory, "scuole", schools_csv(tmp_path, "a.csv"))
    changed = csv(tmp_path, "b.csv", [["codice", "nome", "grado", "lat", "lon"],
                                      ["T0", "Nuovo nome", "infanzia", MASSA[0], MASSA[1]],
                                      ["T7", "Nuova scuola", "primaria", AULLA[0], AULLA[1]]])
    import_file(mc_store, mc_territory, "scuole", changed)
    rows = table(mc_store, "schools", code="T").set_index("code")
    assert sorted(rows.index) == ["T0", "T1", "T2", "T3", "T4", "T7"]
    assert rows.loc["T0", ["name", "level"]].tolist() == ["Nuovo nome", "infanzia"]


def test_html_in_text_field_stored_as_text(mc_store, mc_territory, import_data):
    import_file(mc_store, mc_territory, "segnalazioni", import_data / "segnalazioni.geojson")
    reports = table(mc_store, "reports").set_index("report_id")
    assert reports.loc["S-1", "description"] == "Sacchi abbandonati <script>alert(1)</script>"
    assert reports.loc["S-1", "category"] == "rifiuti_abbandonati"
    assert reports.loc["S-1", "status"] == "nuova"
    assert reports.loc["S-2", "status"] == "risolta"
    assert reports.loc["S-2", "severity"] == 3
    assert pd.Timestamp(reports.loc["S-2", "opened"]) == pd.Timestamp("2024-01-12")
    area = shapely.from_wkt(reports.loc["S-2", "area_wkt"])
    assert area.geom_type == "Polygon"
    assert area.contains(shapely.Point(reports.loc["S-2", "lon"], reports.loc["S-2", "lat"]))
    assert pd.isna(reports.loc["S-1", "area_wkt"])


def test_missing_required_columns_import(mc_store, mc_territory, tmp_path):
    path = csv(tmp_path, "monco.csv", [["codice", "lat", "lon"], ["X", MASSA[0], MASSA[1]]])
    with pytest.raises(ImportFailed, match=r"monco\.csv non ha le colonne obbligatorie: 'Denominazione'"):
        import_file(mc_store, mc_territory, "scuole", path)


# -- formats ----------------------------------------------------------------------------------------


def test_geopackage(mc_store, mc_territory, tmp_path):
    path = tmp_path / "dati.gpkg"
    gpd.GeoDataFrame({"nome": ["x"]}, geometry=[shapely.Point(MASSA[1], MASSA[0])], crs=4326).to_file(
        path, layer="altro", driver="GPKG")
    reports = gpd.GeoDataFrame(
        {"id": ["G1", "G2"], "categoria": ["Graffiti", "verde pubblico"], "creato": ["2024-02-01", "2024-02-03"],
         "gravita": [1, 2]},
        geometry=[shapely.Point(MASSA[1], MASSA[0]), shapely.Point(CARRARA[1], CARRARA[0])], crs=4326,
    ).to_crs(3003)
    reports.to_file(path, layer="segnalazioni", driver="GPKG")
    result = import_file(mc_store, mc_territory, "reports", path, source_layer="segnalazioni")
    assert result.rows_written == 2
    rows = table(mc_store, "reports").set_index("report_id")
    assert rows["category"].to_dict() == {"G1": "vandalismo_graffiti", "G2": "verde_incolto"}
    assert distance_m(rows.loc["G2", "lon"], rows.loc["G2", "lat"], CARRARA[1], CARRARA[0]) < 1
    assert rows["pro_com_t"].to_dict() == {"G1": "045010", "G2": "045003"}


def test_zipped_shapefile(mc_store, mc_territory, tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    lats, lons = zip(MASSA, AULLA, strict=True)
    gpd.GeoDataFrame({"codice": ["Z1", "Z2"], "nome": ["Àlfa", "Beta"], "grado": ["Media", "superiore"],
                      "alunni": [300, 450]},
                     geometry=gpd.points_from_xy(lons, lats), crs=4326).to_crs(3003).to_file(folder / "scuole.shp")
    path = tmp_path / "scuole.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, arcname=f"scuole/{f.name}")
    result = import_file(mc_store, mc_territory, "scuole", path)
    assert result.file_name == "scuole.zip"
    assert result.rows_written == 2
    rows = table(mc_store, "schools", code="Z").set_index("code")
    assert rows["level"].to_dict() == {"Z1": "secondaria_i", "Z2": "secondaria_ii"}
    assert rows.loc["Z1", "name"] == "Àlfa"
    assert rows.loc["Z2", "students"] == 450
    assert distance_m(rows.loc["Z2", "lon"], rows.loc["Z2", "lat"], AULLA[1], AULLA[0]) < 1


def test_parquet(mc_store, mc_territory, tmp_path):
    geo_path = tmp_path / "servizi.parquet"
    gpd.GeoDataFrame(
        {"codice": ["V1", "V2"], "nome": ["Mensa Caritas", "Dormitorio"],
         "tipi": ["mensa; docce", "accoglienza_notturna"], "h24": [False, True], "posti": [40, 25]},
        geometry=[shapely.Point(MASSA[1], MASSA[0]), shapely.Point(CARRARA[1], CARRARA[0])], crs=4326,
    ).to_parquet(geo_path)
    assert import_file(mc_store, mc_territory, "servizi", geo_path).rows_written == 2
    services = table(mc_store, "services").set_index("service_id")
    assert [list(v) for v in services["types"]] == [["mensa", "docce"], ["accoglienza_notturna"]]
    assert services["open_24h"].tolist() == [False, True]
    assert services["capacity"].tolist() == [40, 25]

    cell = h3.str_to_int(h3.latlng_to_cell(*MASSA, 10))
    plain = tmp_path / "delitti.parquet"
    pd.DataFrame({"cell": np.array([cell, cell], dtype=np.int64), "mese": ["2024-01", "2024-01"],
                  "categoria": ["rapine", "rapine"], "fascia": ["notte", "notte"], "numero": [2, 5]}).to_parquet(plain)
    import_file(mc_store, mc_territory, "delitti", plain)
    incidents = table(mc_store, "incidents")
    assert incidents[["cell", "category", "time_band", "count"]].values.tolist() == [[cell, "rapine", "notte", 7]]


# -- incidents ------------------------------------------------------------------------------------------


def test_point_events_aggregated_no_coordinates_stored(mc_store, mc_territory, tmp_path):
    lat, lon = points_inside(mc_territory, 200, seed=1)
    rng = np.random.default_rng(2)
    when = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24 * 60, 200), unit="min")
    cats = rng.choice(["Furto in abitazione", "rapina", "Truffa", "danneggiamenti"], 200)
    rows = [["data_ora", "reato", "latitudine", "longitudine", "pubblica_via"]]
    rows += [[w.strftime("%d/%m/%Y %H:%M"), c, f"{a:.7f}", f"{b:.7f}", "sì" if i % 2 else "no"]
             for i, (w, c, a, b) in enumerate(zip(when, cats, lat, lon, strict=True))]
    path = csv(tmp_path, "sdi.csv", rows, sep=",")
    result = import_file(mc_store, mc_territory, "delitti", path)
    incidents = table(mc_store, "incidents")
    assert incidents["count"].sum() == 200
    assert result.rows_written == len(incidents)
    assert "le coordinate dei singoli eventi non sono state salvate" in " ".join(result.messages)
    assert set(incidents["cell"]) == set(hexgrid.points_to_cells(lat, lon, 10))
    assert (incidents["month"].dt.day == 1).all()
    # no table holds any of the imported coordinates, as number or as text
    coords = np.concatenate([lat, lon])
    texts = {f"{v:.7f}" for v in coords} | {f"{v:.7f}".rstrip("0") for v in coords}
    for name in TABLES:
        df = mc_store.table(name)
        for col in df.columns:
            values = df[col].dropna()
            if pd.api.types.is_float_dtype(values.dtype):
                assert not np.isin(np.round(values.to_numpy(), 7), coords).any(), f"{name}.{col}"
            elif values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
                joined = " ".join(map(str, values))
                assert not any(t in joined for t in texts), f"{name}.{col}"


def test_incident_aggregates_with_cells_and_points(mc_store, mc_territory, tmp_path):
    cell = h3.latlng_to_cell(*MASSA, 10)
    rows = [["cella", "mese", "categoria", "fascia_oraria", "numero", "fonte"],
            [cell, "2024-03", "Furti in abitazione", "Notte", 4, "Questura"],
            [cell, "03/2024", "furti_abitazione", "notturno", 2, "Questura"],
            [cell, "2024-04", "Rapina", "giorno", 1, "Questura"]]
    import_file(mc_store, mc_territory, "delitti", csv(tmp_path, "aggregati.csv", rows))
    stored = table(mc_store, "incidents").sort_values("month")
    assert stored[["category", "time_band", "count", "source"]].values.tolist() == [
        ["furti_abitazione", "notte", 6, "Questura"], ["rapine", "giorno", 1, "Questura"]]
    points = [["lat", "lon", "mese", "categoria", "fascia", "n"],
              [MASSA[0], MASSA[1], "2024-05", "truffe_frodi", "giorno", 3],
              [MASSA[0] + 0.00001, MASSA[1], "2024-05", "truffe_frodi", "giorno", 2]]
    import_file(mc_store, mc_territory, "delitti", csv(tmp_path, "aggregati_punti.csv", points))
    may = table(mc_store, "incidents", category="truffe")
    assert may[["cell", "count"]].values.tolist() == [[h3.str_to_int(cell), 5]]


def test_incident_cells_coarser_than_10_refused(mc_store, mc_territory, tmp_path):
    rows = [["cell", "month", "category", "time_band", "count"],
            [h3.latlng_to_cell(*MASSA, 10), "2024-03", "rapine", "notte", 1],
            [h3.latlng_to_cell(*MASSA, 8), "2024-03", "rapine", "notte", 9]]
    with pytest.raises(ImportFailed) as err:
        import_file(mc_store, mc_territory, "incidents", csv(tmp_path, "r8.csv", rows))
    assert err.value.report["riga"].tolist() == [3]
    assert err.value.report["motivo"].iloc[0].startswith(
        "cella H3 a risoluzione 8: serve la risoluzione 10 (quella memorizzata)")
    assert mc_store.count("incidents") == 0


def test_incident_outside_territory_rejected(mc_store, mc_territory, tmp_path):
    rows = [["data", "categoria", "lat", "lon"], ["2024-01-01 10:00", "rapine", MASSA[0], MASSA[1]],
            ["2024-01-01 10:00", "rapine", SEA[0], SEA[1]]]
    with pytest.raises(ImportFailed) as err:
        import_file(mc_store, mc_territory, "incidents", csv(tmp_path, "fuori.csv", rows))
    assert err.value.report[["riga", "motivo"]].values.tolist() == [
        [3, "posizione fuori dal territorio (Provincia di Massa-Carrara)"]]


# -- transactions and progress ------------------------------------------------------------------------


def test_import_killed_halfway_leaves_db_unchanged(mc_store, mc_territory, tmp_path, monkeypatch, import_data):
    events = import_data / "delitti_eventi.csv"
    before = counts(mc_store)
    seen = []

    def killer(fraction: float, text: str) -> None:
        seen.append(text)
        if fraction >= 0.9:  # after the rows are written, before the import is registered
            raise KeyboardInterrupt("interrotto")

    with pytest.raises(KeyboardInterrupt):
        import_file(mc_store, mc_territory, "delitti", events, progress=killer)
    assert any(t.startswith("Scrittura") for t in seen)
    assert counts(mc_store) == before

    def broken_finish(*_args, **_kwargs):
        raise RuntimeError("disco pieno")

    monkeypatch.setattr(Store, "finish_import", staticmethod(broken_finish))
    with pytest.raises(RuntimeError, match="disco pieno"):
        import_file(mc_store, mc_territory, "scuole", schools_csv(tmp_path))
    assert counts(mc_store) == before
    monkeypatch.undo()
    result = import_file(mc_store, mc_territory, "delitti", events)
    assert not result.already_imported
    assert table(mc_store, "incidents")["count"].sum() == 5


def test_progress_reported(mc_store, mc_territory, import_data):
    calls: list[tuple[float, str]] = []
    import_file(mc_store, mc_territory, "scuole", import_data / "scuole_cp1252.csv",
                progress=lambda f, t: calls.append((f, t)))
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    assert calls[-1][1] == "Importazione completata"


def test_upload_reported_with_its_own_name(mc_store, mc_territory, tmp_path):
    upload = write(tmp_path, "tmpa81x2k.csv", "codice;nome\n")
    with pytest.raises(ImportFailed, match=r"^Il file Scuole 2024\.csv contiene solo l'intestazione"):
        import_file(mc_store, mc_territory, "scuole", upload, file_name="Scuole 2024.csv")
    good = schools_csv(tmp_path, "tmpq1w2e3.csv")
    result = import_file(mc_store, mc_territory, "scuole", good, file_name="Scuole 2024.csv", user="comune.massa")
    assert result.file_name == "Scuole 2024.csv"
    assert "Scuole 2024.csv" in result.messages[0]
    assert mc_store.find_import("schools", gio.file_sha256(good))["file_name"] == "Scuole 2024.csv"
    assert set(table(mc_store, "schools", code="T")["source"]) == {"Scuole 2024.csv"}


def test_unknown_layer_and_oversized_file(mc_store, mc_territory, tmp_path):
    with pytest.raises(ImportFailed, match="Livello sconosciuto 'lampioni'"):
        import_file(mc_store, mc_territory, "lampioni", tmp_path / "x.csv")
    path = schools_csv(tmp_path)
    with pytest.raises(ImportFailed, match=r"scuole\.csv pesa .*il limite per l'importazione è 100 byte"):
        import_file(mc_store, mc_territory, "scuole", path, max_bytes=100)


# -- roads ---------------------------------------------------------------------------------------------------


def _line_east(start: tuple[float, float], metres: float, metric: str) -> shapely.LineString:
    to_m = pyproj.Transformer.from_crs(4326, metric, always_xy=True)
    to_deg = pyproj.Transformer.from_crs(metric, 4326, always_xy=True)
    x, y = to_m.transform(start[1], start[0])
    xs = np.linspace(x, x + metres, 5)
    lon, lat = to_deg.transform(xs, np.full(5, y))
    return shapely.LineString(np.column_stack([lon, lat]))


def test_roads_length_per_cell(mc_store, mc_territory, tmp_path):
    metric = mc_territory.metric_crs
    straight = _line_east(MASSA, 1000.0, metric)
    to_sea = shapely.LineString([(MASSA[1], MASSA[0]), (10.06, 43.98)])
    gdf = gpd.GeoDataFrame({"highway": ["primary", "residential", None], "name": ["Via Dritta", "Verso il mare", "x"]},
                           geometry=[straight, to_sea, shapely.LineString([(10.14, 44.03), (10.141, 44.031)])],
                           crs=4326)
    path = tmp_path / "strade.geojson"
    gdf.to_file(path, driver="GeoJSON")
    with pytest.raises(ImportFailed) as err:
        import_file(mc_store, mc_territory, "strade", path)
    assert err.value.report[["riga", "motivo"]].values.tolist() == [[3, "valore obbligatorio mancante"]]
    result = import_file(mc_store, mc_territory, "strade", path, partial=True)
    roads = table(mc_store, "roads")
    primary = roads[roads["highway"] == "primary"]
    assert primary["length_m"].sum() == pytest.approx(1000.0, rel=0.005)
    assert primary["cell"].is_unique
    assert len(primary) >= 8
    crossed = set(hexgrid.points_to_cells(*np.asarray(shapely.segmentize(straight, 0.00005).coords).T[::-1], 10))
    assert set(primary["cell"]) <= crossed
    for cell, length in zip(primary["cell"], primary["length_m"], strict=True):
        hexagon = hexgrid.cells_to_polygons([cell])[0]
        assert hexagon.intersects(straight)
        assert length < 160  # never more than a hexagon's width
    # only the part inside the territory of the line to the sea is kept
    sea = roads[roads["highway"] == "residential"]["length_m"].sum()
    to_m = pyproj.Transformer.from_crs(4326, metric, always_xy=True)
    inside = shapely.transform(to_sea.intersection(mc_territory.outline), lambda xy: np.column_stack(
        to_m.transform(xy[:, 0], xy[:, 1])))
    full = shapely.transform(to_sea, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))
    assert sea == pytest.approx(inside.length, rel=0.03)
    assert sea < 0.9 * full.length
    assert any("fuori dal territorio ignorati" in m for m in result.messages)
    # a new road file replaces the previous network
    gpd.GeoDataFrame({"highway": ["service"]}, geometry=[_line_east(CARRARA, 200.0, metric)], crs=4326).to_file(
        tmp_path / "nuove.geojson", driver="GeoJSON")
    import_file(mc_store, mc_territory, "strade", tmp_path / "nuove.geojson")
    roads = table(mc_store, "roads")
    assert set(roads["highway"]) == {"service"}
    assert roads["length_m"].sum() == pytest.approx(200.0, rel=0.005)


def test_roads_need_lines(mc_store, mc_territory, tmp_path):
    path = tmp_path / "punti.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"highway": "primary"},
         "geometry": {"type": "Point", "coordinates": [MASSA[1], MASSA[0]]}}]}))
    with pytest.raises(ImportFailed) as err:
        import_file(mc_store, mc_territory, "roads", path)
    assert err.value.report["motivo"].tolist() == ["geometria non lineare: servono linee (LineString)"]
    with pytest.raises(ImportFailed, match="per le strade serve un file con linee"):
        import_file(mc_store, mc_territory, "roads", csv(tmp_path, "strade.csv", [["highway"], ["primary"]]))
