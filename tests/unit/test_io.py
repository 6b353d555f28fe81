"""Reading files: encodings, separators, formats, CRS, hostile input (geo.data.io)."""

from __future__ import annotations

import json
import re
import stat
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geo import config
from geo.data import io as gio
from geo.data import schemas
from geo.data.io import ImportFailed

MASSA = (44.0357, 10.1402)  # lat, lon
CARRARA = (44.0790, 10.0977)
AULLA = (44.2153, 9.9717)


def write(folder: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def points_gdf(crs: int = 4326, **columns) -> gpd.GeoDataFrame:
    lats, lons = zip(MASSA, CARRARA, AULLA, strict=True)
    gdf = gpd.GeoDataFrame({"codice": ["A", "B", "C"], **columns},
                           geometry=gpd.points_from_xy(lons, lats), crs=4326)
    return gdf.to_crs(crs)


def zip_files(target: Path, files: list[Path]) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, arcname=f.name)
    return target


# -- CSV text ---------------------------------------------------------------------------------


def test_csv_latin1_encoding(import_data):
    raw = gio.read_file(import_data / "scuole_cp1252.csv")
    assert raw.frame.loc[2, "Denominazione"] == "Scuola primaria «Città di Massa»"
    assert raw.frame.loc[4, "Indirizzo"] == "Località Pallerone"
    assert "Windows-1252" in raw.messages[0]
    assert "punto e virgola" in raw.messages[0]


def test_csv_latin1_bytes_undefined_in_cp1252(tmp_path):
    # 0x81 is not a cp1252 character: the reader falls back on Latin-1 instead of failing
    path = write(tmp_path, "x.csv", b"nome;valore\ncaf\xe9\x81;1\nperch\xe9;2\n")
    raw = gio.read_file(path)
    assert raw.frame["nome"].tolist()[1] == "perché"


def test_csv_utf8_bom(import_data):
    raw = gio.read_file(import_data / "scuole_utf8_bom.csv")
    assert next(iter(raw.frame.columns)) == "code"  # no BOM glued to the first header
    assert raw.frame.loc[2, "name"] == "Scuola primaria «Città di Massa»"
    assert "UTF-8 con BOM" in raw.messages[0]
    assert "virgola" in raw.messages[0]


def test_csv_utf16_with_bom(tmp_path):
    path = write(tmp_path, "x.csv", "nome\tlat\nCittà\t44,03\n", encoding="utf-16")
    raw = gio.read_file(path)
    assert raw.frame.loc[2, "nome"] == "Città"
    assert raw.frame.loc[2, "lat"] == "44,03"


def test_csv_semicolon_decimal_comma(tmp_path):
    path = write(tmp_path, "x.csv", "lat;lon;nome\n44,0357;10,1402;a, b e c\n44,0790;10,0977;d\n")
    raw = gio.read_file(path)
    assert list(raw.frame.columns) == ["lat", "lon", "nome"]
    numbers, bad = gio.parse_numbers(raw.frame["lat"])
    np.testing.assert_allclose(numbers, [44.0357, 44.0790])
    assert not bad.any()
    assert raw.frame.loc[2, "nome"] == "a, b e c"


@pytest.mark.parametrize("sep", ["\t", "|", ","])
def test_csv_tab_pipe_comma_separators(tmp_path, sep):
    path = write(tmp_path, "x.csv", sep.join(["a", "b", "c"]) + "\n" + sep.join(["1", "x y", "3"]) + "\n")
    raw = gio.read_file(path)
    assert list(raw.frame.columns) == ["a", "b", "c"]
    assert raw.frame.loc[2, "b"] == "x y"


def test_csv_duplicated_header_refused(tmp_path):
    exact = write(tmp_path, "identica.csv", "codice;lat;lat;lon\nA;44;44;10\n")
    with pytest.raises(ImportFailed, match=r"identica\.csv ha due colonne con la stessa intestazione 'lat' "
                                           r"\(colonne 2 e 3\)"):
        gio.read_file(exact)
    similar = write(tmp_path, "simile.csv", "codice;lat;Lat ;lon\nA;44;44;10\n")
    with pytest.raises(ImportFailed, match=r"simile\.csv ha intestazioni ambigue: le colonne 'lat', 'Lat' "
                                           r"indicano tutte il campo 'lat'"):
        gio.harmonise_columns(gio.read_file(similar).frame, schemas.SCHOOLS, file_name="simile.csv")


def test_csv_trailing_separators_and_unnamed_columns(tmp_path):
    path = write(tmp_path, "excel.csv", "a;b;;\n1;2;;\n3;4;x;\n")
    raw = gio.read_file(path)
    assert list(raw.frame.columns) == ["a", "b", "colonna_3"]
    assert raw.frame["colonna_3"].tolist() == ["", "x"]


def test_csv_quoted_separator_does_not_fool_sniffer():
    text = 'nome,descrizione\n"Rossi","a; b; c"\n"Bianchi","d; e"\n'
    assert gio.sniff_separator(text) == ","


def test_csv_excel_sep_line_and_row_numbers(tmp_path):
    path = write(tmp_path, "x.csv", "sep=,\na,b\n1,2\n\n3,4\n")
    raw = gio.read_file(path)
    # "sep=," is line 1, the header line 2; the blank line 4 is skipped but keeps the numbering
    assert raw.frame.index.tolist() == [3, 5]
    assert raw.frame["a"].tolist() == ["1", "3"]


def test_csv_ragged_row_names_line(tmp_path):
    path = write(tmp_path, "dati.csv", "a;b\n1;2\n3;4;5\n")
    with pytest.raises(ImportFailed, match=r"dati\.csv, riga 3: 3 campi invece dei 2"):
        gio.read_file(path)


def test_csv_unclosed_quote(tmp_path):
    path = write(tmp_path, "dati.csv", 'a;b\n1;2\n3;"non chiuso\n')
    with pytest.raises(ImportFailed, match=r"dati\.csv.*virgolette aperte.*riga 3"):
        gio.read_file(path)


def test_empty_file(tmp_path):
    with pytest.raises(ImportFailed, match=r"vuoto\.csv è vuoto"):
        gio.read_file(write(tmp_path, "vuoto.csv", b""))
    with pytest.raises(ImportFailed, match="è vuoto"):
        gio.read_file(write(tmp_path, "spazi.csv", b"\r\n \n\t\n"))


def test_header_only_csv(tmp_path):
    with pytest.raises(ImportFailed, match="solo l'intestazione"):
        gio.read_file(write(tmp_path, "intestazione.csv", "a;b;c\n"))


@pytest.mark.parametrize("name", ["garbage.csv", "garbage.geojson", "garbage.gpkg", "garbage.parquet",
                                  "garbage.zip", "garbage.txt"])
def test_binary_garbage(tmp_path, name):
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    with pytest.raises(ImportFailed, match=name.replace(".", r"\.")):
        gio.read_file(write(tmp_path, name, data))


def test_binary_garbage_without_nul_bytes(tmp_path):
    rng = np.random.default_rng(2)
    data = rng.integers(1, 256, 8192, dtype=np.uint8).tobytes()
    with pytest.raises(ImportFailed, match="non è un file di testo"):
        gio.read_file(write(tmp_path, "rumore.csv", data))


def test_wrong_extension(tmp_path):
    with pytest.raises(ImportFailed, match=r"tabella\.xlsx.*formato non supportato.*Salvare il foglio"):
        gio.read_file(write(tmp_path, "tabella.xlsx", b"PK\x03\x04 anything"))
    with pytest.raises(ImportFailed, match="senza estensione"):
        gio.read_file(write(tmp_path, "dati", "a,b\n1,2\n"))


def test_content_does_not_match_extension(tmp_path):
    geojson = json.dumps({"type": "FeatureCollection", "features": []})
    with pytest.raises(ImportFailed, match=r"punti\.csv.*sembra un file JSON/GeoJSON"):
        gio.read_file(write(tmp_path, "punti.csv", geojson))
    with pytest.raises(ImportFailed, match=r"punti\.geojson.*sembra un file di testo \(CSV\)"):
        gio.read_file(write(tmp_path, "punti.geojson", "lat,lon\n44,10\n"))
    pdf = b"%PDF-1.4 \x00\x01"
    with pytest.raises(ImportFailed, match="sembra un documento PDF"):
        gio.read_file(write(tmp_path, "report.csv", pdf))


# -- limits ------------------------------------------------------------------------------------


def test_oversized_file_refused(tmp_path, monkeypatch):
    path = write(tmp_path, "grande.csv", "lat;lon\n" + "44,03;10,14\n" * 20_000)
    monkeypatch.setattr(config, "MAX_IMPORT_BYTES", 100_000)

    def must_not_parse(*_args, **_kwargs):
        raise AssertionError("the file was parsed before its size was checked")

    monkeypatch.setattr(gio, "_read_csv", must_not_parse)
    monkeypatch.setattr(gio, "detect_format", must_not_parse)
    with pytest.raises(ImportFailed, match=r"grande\.csv pesa 234 KB: il limite per l'importazione è 97 KB"):
        gio.read_file(path)


def test_very_long_line_refused(tmp_path):
    path = write(tmp_path, "lunga.csv", "a;b\n1;" + "x" * (gio.MAX_LINE_BYTES + 10) + "\n2;3\n")
    with pytest.raises(ImportFailed, match=r"lunga\.csv, riga 2: riga più lunga"):
        gio.read_file(path)


def test_csv_too_many_columns_refused(tmp_path):
    header = ";".join(f"c{i}" for i in range(gio.MAX_COLUMNS + 100))
    path = write(tmp_path, "larga.csv", header + "\n" + ";" * (gio.MAX_COLUMNS + 99) + "\n")
    with pytest.raises(ImportFailed, match=rf"larga\.csv ha {gio.MAX_COLUMNS + 100} colonne"):
        gio.read_file(path)


def test_geojson_too_many_properties_refused(tmp_path):
    props = {f"p{i}": i for i in range(gio.MAX_COLUMNS + 100)}
    fc = {"type": "FeatureCollection",
          "features": [{"type": "Feature", "properties": props,
                        "geometry": {"type": "Point", "coordinates": [10.14, 44.03]}}]}
    with pytest.raises(ImportFailed, match="nomi di proprietà diversi"):
        gio.read_file(write(tmp_path, "larga.geojson", json.dumps(fc)))


def test_geojson_without_features(tmp_path):
    path = write(tmp_path, "vuota.geojson", json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(ImportFailed, match=r"vuota\.geojson non contiene elementi"):
        gio.read_file(path)


def test_truncated_geojson(tmp_path):
    text = points_gdf().to_json()
    path = write(tmp_path, "tronco.geojson", text[: len(text) // 2])
    with pytest.raises(ImportFailed, match=r"tronco\.geojson non è un GeoJSON valido o è danneggiato"):
        gio.read_file(path)


def test_deeply_nested_json_refused(tmp_path):
    text = '{"type":"FeatureCollection","features":[' + "[" * 5000 + "]" * 5000 + "]}"
    with pytest.raises(ImportFailed, match=r"annidata oltre 64 livelli"):
        gio.read_file(write(tmp_path, "nidi.geojson", text))


# -- zip -----------------------------------------------------------------------------------------


def test_zip_bomb_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MAX_IMPORT_BYTES", 1_000_000)
    path = tmp_path / "bomba.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("strade.shp", b"\x00" * 5_000_000)
    assert path.stat().st_size < 100_000  # small on disk, 5 MB once extracted
    with pytest.raises(ImportFailed, match=r"bomba\.zip decompresso occuperebbe 4,8 MB.*zip bomb"):
        gio.read_file(path)


def test_zip_bomb_stopped_while_extracting(tmp_path):
    path = tmp_path / "bomba.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.dbf", b"\x00" * 600_000)
        zf.writestr("b.dbf", b"\x00" * 600_000)
    # each member is under the limit, their sum is not
    with pytest.raises(ImportFailed, match="zip bomb"):
        gio.extract_zip(path, tmp_path, max_bytes=1_000_000)


@pytest.mark.parametrize("member", ["../../evil.shp", "/etc/evil.shp", "dati/../../evil.shp", "C:/evil.shp"])
def test_zip_path_traversal_refused(tmp_path, member):
    path = tmp_path / "furbo.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ok.txt", "a")
        zf.writestr(zipfile.ZipInfo(member), "b")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ImportFailed, match=r"furbo\.zip contiene un percorso non ammesso"):
        gio.read_file(path)
    with pytest.raises(ImportFailed):
        gio.extract_zip(path, out, max_bytes=10_000)
    assert not (tmp_path / "evil.shp").exists()
    assert list(out.iterdir()) == []


def test_zip_symlink_refused(tmp_path):
    path = tmp_path / "link.zip"
    info = zipfile.ZipInfo("strade.shp")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ImportFailed, match="collegamento simbolico"):
        gio.read_file(path)


def test_zip_too_many_members_refused(tmp_path):
    path = tmp_path / "tanti.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(gio.MAX_ZIP_MEMBERS + 1):
            zf.writestr(f"f{i}.txt", "x")
    with pytest.raises(ImportFailed, match=rf"tanti\.zip contiene {gio.MAX_ZIP_MEMBERS + 1} file"):
        gio.read_file(path)


def test_zipped_shapefile_read(tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    points_gdf(3003, tipo=["x", "y", "z"]).to_file(folder / "punti.shp")
    path = zip_files(tmp_path / "punti.zip", sorted(folder.iterdir()))
    raw = gio.read_file(path)
    assert raw.format == "shapefile"
    assert raw.crs_declared
    assert raw.crs.to_epsg() == 3003
    assert raw.file_name == "punti.zip (punti.shp)"
    assert raw.frame["tipo"].tolist() == ["x", "y", "z"]
    assert raw.frame.index.tolist() == [1, 2, 3]


def test_shapefile_without_prj_needs_crs(tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    points_gdf(3003).to_file(folder / "punti.shp")
    files = [f for f in sorted(folder.iterdir()) if f.suffix != ".prj"]
    path = zip_files(tmp_path / "senza_prj.zip", files)
    with pytest.raises(ImportFailed, match=r"non dichiara il sistema di riferimento.*manca il file \.prj"):
        gio.read_file(path)
    raw = gio.read_file(path, crs="EPSG:3003")
    assert raw.crs.to_epsg() == 3003
    assert not raw.crs_declared


def test_zip_shapefile_missing_dbf(tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    points_gdf().to_file(folder / "punti.shp")
    path = zip_files(tmp_path / "monco.zip", [f for f in folder.iterdir() if f.suffix != ".dbf"])
    with pytest.raises(ImportFailed, match=r"incompleto: mancano i file \.dbf"):
        gio.read_file(path)


# -- other formats ---------------------------------------------------------------------------------


def test_geopackage_layer_choice(tmp_path):
    path = tmp_path / "livelli.gpkg"
    points_gdf(tipo=["a", "b", "c"]).to_file(path, layer="primo", driver="GPKG")
    points_gdf(tipo=["d", "e", "f"]).to_file(path, layer="secondo", driver="GPKG")
    first = gio.read_file(path)
    assert first.frame["tipo"].tolist() == ["a", "b", "c"]
    assert "letto il primo, 'primo'" in first.messages[0]
    assert gio.read_file(path, layer="secondo").frame["tipo"].tolist() == ["d", "e", "f"]
    expected = re.escape("non contiene il livello 'terzo'. Livelli presenti: primo, secondo")
    with pytest.raises(ImportFailed, match=expected):
        gio.read_file(path, layer="terzo")


def test_geoparquet_and_plain_parquet(tmp_path):
    geo_path = tmp_path / "punti.parquet"
    points_gdf(32632).to_parquet(geo_path)
    raw = gio.read_file(geo_path)
    assert raw.geometry is not None
    assert raw.crs.to_epsg() == 32632
    assert raw.crs_declared
    plain = tmp_path / "tabella.parquet"
    pd.DataFrame({"lat": [MASSA[0]], "lon": [MASSA[1]], "n": [3]}).to_parquet(plain)
    raw = gio.read_file(plain)
    assert raw.geometry is None
    assert raw.crs.to_epsg() == 4326
    assert not raw.crs_declared
    assert raw.frame["n"].tolist() == [3]
    assert raw.frame.index.tolist() == [1]


def test_declared_crs_conflict(tmp_path):
    path = tmp_path / "gb.gpkg"
    points_gdf(3003).to_file(path, driver="GPKG")
    with pytest.raises(ImportFailed, match=r"dichiara il sistema di riferimento EPSG:3003.*indicato EPSG:32632"):
        gio.read_file(path, crs=32632)


def test_unknown_crs(tmp_path):
    path = write(tmp_path, "x.csv", "lat,lon\n44,10\n")
    with pytest.raises(ImportFailed, match=r"'EPSG:999999' non riconosciuto.*EPSG:3003"):
        gio.read_file(path, crs="EPSG:999999")


# -- headers ------------------------------------------------------------------------------------------


def test_header_aliases_italian_english():
    frame = pd.DataFrame(columns=["Latitudine", "LONG", "Categoria", "Data Ora", "Pubblica-via", "Numero",
                                  "Fascia oraria", "Note interne"])
    cols = gio.harmonise_columns(frame, schemas.INCIDENTS)
    assert list(cols.frame.columns) == ["lat", "lon", "category", "date", "outdoor", "count", "time_band"]
    assert cols.headers["date"] == "Data Ora"
    assert cols.ignored == ["Note interne"]
    assert "Note interne" in cols.messages[-1]
    english = pd.DataFrame(columns=["latitude", "longitude", "Type", "Status", "ID", "Created"])
    cols = gio.harmonise_columns(english, schemas.REPORTS)
    assert list(cols.frame.columns) == ["lat", "lon", "category", "status", "report_id", "opened"]
    lighting = pd.DataFrame(columns=["Potenza (W)", "Altezza [m]", "Gravità", "Tipo Lampada"])
    cols = gio.harmonise_columns(lighting, schemas.LIGHTING)
    assert cols.headers == {"power_w": "Potenza (W)", "height_m": "Altezza [m]", "technology": "Tipo Lampada"}
    assert gio.harmonise_columns(pd.DataFrame(columns=["Gravità"]), schemas.REPORTS).headers == {
        "severity": "Gravità"}


def test_ambiguous_headers_reported():
    frame = pd.DataFrame(columns=["id", "codice", "tecnologia", "stato", "lat", "lon"])
    with pytest.raises(ImportFailed, match=r"x\.csv ha intestazioni ambigue: le colonne 'id', 'codice' indicano "
                                           r"tutte il campo 'pl_id'"):
        gio.harmonise_columns(frame, schemas.LIGHTING, file_name="x.csv")
    exact = gio.harmonise_columns(pd.DataFrame(columns=["pl_id", "id", "y", "lat", "lon"]), schemas.LIGHTING)
    assert exact.headers["pl_id"] == "pl_id"
    assert exact.headers["lat"] == "lat"
    assert set(exact.ignored) == {"id", "y"}


def test_normalise_header():
    assert gio.normalise_header("\ufeffLocalità - Nome ") == "localita_nome"
    assert gio.normalise_header("Potenza (W)") == "potenza_w"
    assert gio.normalise_value("Furti_in  Abitazióne") == "furti in abitazione"


def test_parse_numbers_italian_and_english():
    values = pd.Series(["44,0357", "1.580.000,5", "1,580,000.5", "1,580,000", "1.580.000", "-3", "", "abc",
                        "inf", "nan", "12 345", "1e3"])
    numbers, bad = gio.parse_numbers(values)
    np.testing.assert_allclose(numbers[:6], [44.0357, 1580000.5, 1580000.5, 1580000, 1580000, -3])
    assert np.isnan(numbers[6])
    assert not bad[6]
    assert bad[7]
    assert bad[8]
    assert bad[9]
    assert numbers[10] == 12345
    assert numbers[11] == 1000


# -- coordinates -----------------------------------------------------------------------------------------


def _located(path: Path, layer=schemas.SCHOOLS, **kwargs):
    territory = kwargs.pop("territory")
    raw = gio.read_file(path, crs=kwargs.pop("crs", None))
    cols = gio.harmonise_columns(raw.frame, layer, file_name=raw.file_name)
    return gio.locate_points(raw, cols, territory=territory, **kwargs)


def test_swapped_lat_lon_detected(tmp_path, mc_territory):
    rows = [f"S{i};{lon};{lat}" for i, (lat, lon) in enumerate((MASSA, CARRARA, AULLA))]
    path = write(tmp_path, "invertite.csv", "codice;latitudine;longitudine\n" + "\n".join(rows) + "\n")
    with pytest.raises(ImportFailed, match=r"invertite\.csv sembrano invertite.*swap_xy=True"):
        _located(path, territory=mc_territory)
    points = _located(path, territory=mc_territory, swap_xy=True)
    np.testing.assert_allclose(points.coords["lat"], [MASSA[0], CARRARA[0], AULLA[0]])
    np.testing.assert_allclose(points.coords["lon"], [MASSA[1], CARRARA[1], AULLA[1]])


def test_projected_coordinates_given_as_degrees(tmp_path, mc_territory):
    to_gb = pyproj.Transformer.from_crs(4326, 3003, always_xy=True)
    rows = []
    for i, (lat, lon) in enumerate((MASSA, CARRARA, AULLA)):
        x, y = to_gb.transform(lon, lat)
        rows.append(f"S{i};{x:.1f};{y:.1f}")
    path = write(tmp_path, "gb.csv", "codice;x;y\n" + "\n".join(rows) + "\n")
    with pytest.raises(ImportFailed, match=r"sembrano coordinate Gauss-Boaga/UTM: indicare il sistema di "
                                           r"riferimento \(es\. EPSG:3003\)\. Con EPSG:3003"):
        _located(path, territory=mc_territory)
    # without a territory the degree range alone is enough to refuse
    with pytest.raises(ImportFailed, match="Gauss-Boaga/UTM"):
        _located(path, territory=None)
    points = _located(path, territory=mc_territory, crs=3003)
    np.testing.assert_allclose(points.coords["lat"], [MASSA[0], CARRARA[0], AULLA[0]], atol=1e-5)


def test_projected_coordinates_in_a_file_declaring_degrees(tmp_path, mc_territory):
    gdf = points_gdf(3003).set_crs(4326, allow_override=True)  # wrong CRS written in the file
    path = tmp_path / "sbagliato.gpkg"
    gdf.to_file(path, driver="GPKG")
    with pytest.raises(ImportFailed, match=r"sembrano coordinate Gauss-Boaga/UTM: correggere il sistema di "
                                           r"riferimento dichiarato nel file"):
        _located(path, territory=mc_territory)
    geojson = tmp_path / "vecchio.geojson"  # a GeoJSON without "crs" is WGS84 by definition: the caller decides
    geojson.write_text(gdf.to_json())
    with pytest.raises(ImportFailed, match="indicare il sistema di riferimento"):
        _located(geojson, territory=mc_territory)
    points = _located(geojson, territory=mc_territory, crs=3003)
    np.testing.assert_allclose(points.coords["lat"], [MASSA[0], CARRARA[0], AULLA[0]], atol=1e-5)


def test_degrees_declared_as_projected(tmp_path, mc_territory):
    rows = [f"S{i};{lon};{lat}" for i, (lat, lon) in enumerate((MASSA, CARRARA, AULLA))]
    path = write(tmp_path, "gradi.csv", "codice;lon;lat\n" + "\n".join(rows) + "\n")
    with pytest.raises(ImportFailed, match=r"sembrano gradi WGS84 \(EPSG:4326\), non EPSG:3003"):
        _located(path, territory=mc_territory, crs=3003)


def test_wrong_projected_crs_suggests_the_right_one(tmp_path, mc_territory):
    to_utm = pyproj.Transformer.from_crs(4326, 32632, always_xy=True)
    rows = [f"S{i};{x:.1f};{y:.1f}" for i, (x, y) in
            enumerate(to_utm.transform(lon, lat) for lat, lon in (MASSA, CARRARA, AULLA))]
    path = write(tmp_path, "utm.csv", "codice;est;nord\n" + "\n".join(rows) + "\n")
    with pytest.raises(ImportFailed, match=r"non cadono in Provincia di Massa-Carrara con EPSG:3003.*vi cadono con "
                                           r"EPSG:\d+"):
        _located(path, territory=mc_territory, crs=3003)


def test_polygons_located_by_a_point_inside(mc_territory, import_data):
    raw = gio.read_file(import_data / "segnalazioni.geojson")
    cols = gio.harmonise_columns(raw.frame, schemas.REPORTS)
    points = gio.locate_points(raw, cols, territory=mc_territory, polygons="area")
    polygon = shapely.from_wkt(points.coords.loc[2, "area_wkt"])
    assert polygon.geom_type == "Polygon"
    assert polygon.contains(shapely.Point(points.coords.loc[2, "lon"], points.coords.loc[2, "lat"]))
    assert pd.isna(points.coords.loc[1, "area_wkt"])


def test_bad_coordinates_reported_per_row(tmp_path, mc_territory):
    path = write(tmp_path, "x.csv", "codice;lat;lon\nA;44,0357;10,1402\nB;quarantaquattro;10,1\nC;;\n")
    points = _located(path, territory=mc_territory)
    report = points.report.set_index("riga")
    assert report.loc[3, "motivo"] == "coordinata non numerica"
    assert report.loc[3, "valore"] == "quarantaquattro"
    assert report.loc[4, "motivo"] == "coordinate mancanti"
    assert points.coords["lat"].notna().tolist() == [True, False, False]
