"""Row-level validation against the canonical layers (geo.data.validate)."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from geo.data import hexgrid, schemas
from geo.data import io as gio
from geo.data.io import ImportFailed
from geo.data.validate import (
    STORAGE_COLUMNS,
    parse_cells,
    parse_dates,
    parse_months,
    validate_frame,
)

MASSA = (44.0357, 10.1402)
CARRARA = (44.0790, 10.0977)
AULLA = (44.2153, 9.9717)
SEA = (43.90, 9.90)  # Ligurian Sea, outside the province
LA_SPEZIA = (44.1025, 9.8241)  # another province


def frame(rows: list[dict], *, first_row: int = 2) -> pd.DataFrame:
    """A table of strings as a CSV gives it, numbered like spreadsheet rows."""
    df = pd.DataFrame(rows).fillna("").astype("str")
    df.index = pd.RangeIndex(first_row, first_row + len(df), name="riga")
    return df


def school(code: str, where=MASSA, **extra) -> dict:
    return {"code": code, "name": f"Scuola {code}", "level": "primaria", "lat": str(where[0]).replace(".", ","),
            "lon": str(where[1]).replace(".", ","), **extra}


def run(df: pd.DataFrame, layer: schemas.Layer, store, territory, **kwargs):
    return validate_frame(df, layer, store=store, territory=territory, file_name="prova.csv", **kwargs)


def reasons(result) -> dict[int, str]:
    return dict(zip(result.report["riga"].astype(int), result.report["motivo"], strict=True))


def test_missing_required_columns(mc_store, mc_territory):
    df = frame([{"nome": "x", "indirizzo": "via Roma"}])
    with pytest.raises(ImportFailed) as err:
        run(df, schemas.SCHOOLS, mc_store, mc_territory)
    message = err.value.messages[0]
    assert message.startswith("Il file prova.csv non ha le colonne obbligatorie: ")
    assert "'Codice meccanografico' (nomi accettati: code, codice, codice_scuola" in message
    assert "'Denominazione'" in message
    assert "'Grado'" in message
    assert "latitudine e longitudine (nomi accettati: lat, latitude, latitudine" in message
    assert err.value.report is None
    with pytest.raises(ImportFailed, match=r"la posizione: cella H3 .*il periodo: mese"):
        run(frame([{"category": "rapine", "count": "2"}]), schemas.INCIDENTS, mc_store, mc_territory)


def test_bad_enum_value_row_report(mc_store, mc_territory):
    raw = frame([school("MS1"), school("MS2", level="università"), school("MS3", level="Primaria")])
    raw = raw.rename(columns={"level": "Grado", "code": "Codice"})
    cols = gio.harmonise_columns(raw, schemas.SCHOOLS)
    result = run(cols.frame, schemas.SCHOOLS, mc_store, mc_territory, headers=cols.headers)
    assert result.report.to_dict("records") == [
        {"riga": 3, "campo": "Grado", "valore": "università",
         "motivo": "valore non ammesso (valori validi: infanzia, primaria, secondaria_i, secondaria_ii)"}
    ]
    assert result.data.index.tolist() == [2, 4]
    assert result.rows_rejected == 1
    assert result.rows_read == 3


def test_enum_accepts_code_label_alias_case_accent(mc_store, mc_territory):
    levels = ["PRIMARIA", "Scuola dell'infanzia", "secondaria di I grado", "Secondaria_II", "elementare", " Media "]
    df = frame([school(f"S{i}", level=v) for i, v in enumerate(levels)])
    result = run(df, schemas.SCHOOLS, mc_store, mc_territory)
    assert result.report.empty
    assert result.data["level"].tolist() == ["primaria", "infanzia", "secondaria_i", "secondaria_ii", "primaria",
                                             "secondaria_i"]
    lights = frame([{"pl_id": f"L{i}", "technology": t, "status": s, "lat": "44.0357", "lon": "10.1402"}
                    for i, (t, s) in enumerate([("05", "OK"), ("LED", "Non funzionante"), ("sodio", "guasta"),
                                                ("Vapori di Mercurio", "FUNZIONANTE")])])
    result = run(lights, schemas.LIGHTING, mc_store, mc_territory)
    assert result.data["technology"].tolist() == ["sodio_alta_pressione", "led", "sodio_alta_pressione", "mercurio"]
    assert result.data["status"].tolist() == ["funzionante", "guasto", "guasto", "funzionante"]


def test_enum_list_separators(mc_store, mc_territory):
    rows = [{"service_id": f"V{i}", "name": "Caritas", "types": t, "lat": "44.0357", "lon": "10.1402"}
            for i, t in enumerate(["mensa; docce", "Mensa|Docce|ascolto", "Centro di ascolto, guardaroba",
                                   "mensa;bagni;lavanderia", "mensa;mensa"])]
    result = run(frame(rows), schemas.SERVICES, mc_store, mc_territory)
    assert result.data["types"].tolist() == [["mensa", "docce"], ["mensa", "docce", "ascolto"],
                                             ["ascolto", "guardaroba"], ["mensa"]]
    assert reasons(result)[5].startswith("valori non ammessi: 'bagni', 'lavanderia' (valori validi: pasti_strada")


def test_bool_values(mc_store, mc_territory):
    values = ["sì", "NO", "Vero", "falso", "true", "0", "1", "x", "", "forse"]
    rows = [{"service_id": f"V{i}", "name": "n", "types": "mensa", "open_24h": v, "lat": "44.0357",
             "lon": "10.1402"} for i, v in enumerate(values)]
    result = run(frame(rows), schemas.SERVICES, mc_store, mc_territory)
    assert result.data["open_24h"].tolist()[:8] == [True, False, True, False, True, False, True, True]
    assert pd.isna(result.data["open_24h"].iloc[8])
    assert reasons(result) == {11: "valore non riconosciuto (ammessi: sì, no, vero, falso, true, false, 1, 0, x)"}


def test_date_formats():
    values = pd.Series(["2024-03-31", "31/03/2024", "31-03-2024", "31.03.2024", "2024-03-31T10:05",
                        "31/03/2024 22:30:15", "2024-07-01T18:30:00Z", "", "31/13/2024", "ieri", "1850-01-01"])
    dates, has_time, bad = parse_dates(values)
    assert dates[:4].tolist() == [pd.Timestamp("2024-03-31")] * 4
    assert dates[4] == pd.Timestamp("2024-03-31 10:05")
    assert dates[5] == pd.Timestamp("2024-03-31 22:30:15")
    assert dates[6] == pd.Timestamp("2024-07-01 20:30")  # UTC converted to Italian summer time
    assert has_time.tolist()[:7] == [False, False, False, False, True, True, True]
    assert bad.tolist() == [False] * 8 + [True] * 3


def test_typed_datetimes_midnight_counts_as_a_time_only_in_timed_columns():
    timed = pd.Series(pd.to_datetime(["2024-03-02 00:00", "2024-03-02 21:30", None]))
    _, has_time, bad = parse_dates(timed)
    assert has_time.tolist() == [True, True, False]
    assert not bad.any()
    dates_only = pd.Series(pd.to_datetime(["2024-03-02", "2024-03-03"]))
    assert parse_dates(dates_only)[1].tolist() == [False, False]
    aware = pd.Series(pd.to_datetime(["2024-07-01 18:30"]).tz_localize("UTC"))
    assert parse_dates(aware)[0].tolist() == [pd.Timestamp("2024-07-01 20:30")]


def test_month_formats():
    values = pd.Series(["2024-03", "03/2024", "marzo 2024", "Mag-2023", "2024-03-17", "", "2024-13", "primavera"])
    months, bad = parse_months(values)
    expected = [pd.Timestamp("2024-03-01")] * 3 + [pd.Timestamp("2023-05-01"), pd.Timestamp("2024-03-01")]
    assert months[:5].tolist() == expected
    assert bad.tolist() == [False] * 6 + [True, True]


def test_numbers_decimal_comma_and_ranges(mc_store, mc_territory):
    base = {"technology": "led", "status": "ok", "lat": "44.0357", "lon": "10.1402"}
    rows = [{"pl_id": "A", "power_w": "150,5", "year": "2010", "height_m": "8"},
            {"pl_id": "B", "power_w": "-1", "year": "2011", "height_m": ""},
            {"pl_id": "C", "power_w": "tanto", "year": "2012", "height_m": "7"},
            {"pl_id": "D", "power_w": "90", "year": "2010,5", "height_m": "61"}]
    result = run(frame([{**base, **r} for r in rows]), schemas.LIGHTING, mc_store, mc_territory)
    report = result.report
    assert result.data["power_w"].tolist() == [150.5]
    assert result.data["height_m"].tolist() == [8.0]
    assert report[report["riga"] == 3]["motivo"].tolist() == ["valore fuori intervallo (ammessi valori da 0 a 5000)"]
    assert report[report["riga"] == 4]["motivo"].tolist() == ["non è un numero"]
    assert sorted(report[report["riga"] == 5]["motivo"]) == [
        "non è un numero intero", "valore fuori intervallo (ammessi valori da 0 a 60)"]


def test_max_len(mc_store, mc_territory):
    rows = [{"pl_id": "X" * 51, "technology": "led", "status": "ok", "lat": "44.0357", "lon": "10.1402"}]
    result = run(frame(rows), schemas.LIGHTING, mc_store, mc_territory)
    assert reasons(result) == {2: "testo troppo lungo (51 caratteri, massimo 50)"}


def test_duplicate_ids_reported_with_first_row(mc_store, mc_territory):
    df = frame([school("A"), school("B"), school("A"), school("A")])
    result = run(df, schemas.SCHOOLS, mc_store, mc_territory)
    assert reasons(result) == {4: "codice ripetuto nel file (prima occorrenza alla riga 2)",
                               5: "codice ripetuto nel file (prima occorrenza alla riga 2)"}
    assert result.data["code"].tolist() == ["A", "B"]


def test_outside_and_missing_positions_reported(mc_store, mc_territory):
    df = frame([school("A"), school("B", SEA), school("C", LA_SPEZIA), school("D", ("", ""))])
    result = run(df, schemas.SCHOOLS, mc_store, mc_territory)
    assert reasons(result) == {3: "punto fuori dal territorio (Provincia di Massa-Carrara)",
                               4: "punto fuori dal territorio (Provincia di Massa-Carrara)",
                               5: "coordinate mancanti o non valide"}
    assert result.report.set_index("riga").loc[3, "valore"] == "43,9, 9,9"


def test_pro_com_t_filled_and_checked(mc_store, mc_territory):
    rows = [school("A"), school("B", CARRARA, pro_com_t="Carrara"), school("C", MASSA, pro_com_t="45010"),
            school("D", MASSA, pro_com_t="045003"), school("E", AULLA, pro_com_t="099001"),
            school("F", AULLA, pro_com_t="comune di fantasia")]
    result = run(frame(rows), schemas.SCHOOLS, mc_store, mc_territory)
    assert result.data["pro_com_t"].tolist() == ["045010", "045003", "045010"]
    assert reasons(result) == {
        5: "il comune indicato (045003 Carrara) non corrisponde alla posizione (045010 Massa)",
        6: "comune sconosciuto o non appartenente al territorio",
        7: "comune sconosciuto o non appartenente al territorio",
    }


def test_comune_of_the_cell_accepted_near_a_border(mc_store, mc_territory):
    """A point near a border may lie in one comune while its cell's centre lies in the neighbour:
    both codes are accepted, since the stored cell belongs to the neighbour."""
    comuni = mc_territory.comuni.set_index("pro_com_t")
    massa = comuni.loc["045010", "geometry"]
    cells = hexgrid.polygon_to_cells(comuni.loc["045003", "geometry"], 10)
    polys = hexgrid.cells_to_polygons(cells)
    straddling = next(i for i, p in enumerate(polys) if p.intersection(massa).area > 0.2 * p.area)
    inside_massa = polys[straddling].intersection(massa).representative_point()
    df = frame([school("A", (inside_massa.y, inside_massa.x), pro_com_t="045003"),
                school("B", (inside_massa.y, inside_massa.x), pro_com_t="045010"),
                school("C", (inside_massa.y, inside_massa.x))])
    result = run(df, schemas.SCHOOLS, mc_store, mc_territory)
    assert result.report.empty
    assert result.data["pro_com_t"].tolist() == ["045003", "045010", "045010"]  # filled by point in polygon


def test_text_kept_control_characters_stripped(mc_store, mc_territory):
    texts = ["<b>Scuola</b> <script>alert('x')</script>", "=SOMMA(A1:A9)", "-rotto", "@utente", "a\x00b\x07c\r\nd"]
    rows = [school(f"S{i}", address=t) for i, t in enumerate(texts)]
    result = run(frame(rows), schemas.SCHOOLS, mc_store, mc_territory)
    assert result.report.empty
    assert result.data["address"].tolist() == [*texts[:4], "abc\nd"]


def test_output_columns_match_storage(mc_store, mc_territory):
    for table, columns in STORAGE_COLUMNS.items():
        assert list(mc_store.table(table).columns) == columns, table
    result = run(frame([school("A")]), schemas.SCHOOLS, mc_store, mc_territory, source="prova.csv")
    assert list(result.data.columns) == STORAGE_COLUMNS["schools"]
    row = result.data.iloc[0]
    assert row["cell"] == h3.str_to_int(h3.latlng_to_cell(MASSA[0], MASSA[1], 10))
    assert row["source"] == "prova.csv"
    assert not row["synthetic"]
    assert pd.isna(row["import_id"])


def test_cells_resolution():
    fine = h3.latlng_to_cell(*MASSA, 10)
    values = pd.Series([fine, h3.latlng_to_cell(*MASSA, 12), h3.latlng_to_cell(*MASSA, 9), "zzz",
                        str(h3.str_to_int(fine)), ""])
    cells, bad, reason = parse_cells(values)
    assert cells[0] == cells[1] == cells[4] == h3.str_to_int(fine)
    assert bad.tolist() == [False, False, True, True, False, False]
    assert cells[5] == -1
    assert reason[2].startswith("cella H3 a risoluzione 9: serve la risoluzione 10 (quella memorizzata)")
    assert reason[3] == "cella H3 non valida"


def test_report_values_truncated(mc_store, mc_territory):
    result = run(frame([school("A", level="x" * 500)]), schemas.SCHOOLS, mc_store, mc_territory)
    value = result.report["valore"].iloc[0]
    assert len(value) == gio.REPORT_VALUE_CHARS
    assert value.endswith("…")


def test_incident_rows_events_and_aggregates(mc_store, mc_territory):
    cell = h3.latlng_to_cell(*MASSA, 10)
    events = frame([
        {"date": "2024-03-02 22:15", "category": "Rapina", "lat": "44.0357", "lon": "10.1402"},
        {"date": "2024-03-02 07:15", "category": "furti_altri", "lat": "44.0357", "lon": "10.1402"},
        {"date": "2024-03-02", "category": "furti_altri", "lat": "44.0357", "lon": "10.1402"},
        {"date": "", "category": "furti_altri", "lat": "44.0357", "lon": "10.1402"},
    ])
    result = run(events, schemas.INCIDENTS, mc_store, mc_territory)
    assert result.data["time_band"].tolist() == ["notte", "giorno"]
    assert result.data["month"].tolist() == [pd.Timestamp("2024-03-01")] * 2
    assert result.data["count"].tolist() == [1, 1]
    assert reasons(result) == {
        4: "fascia oraria mancante: indicare la fascia (giorno/notte) o data e ora dell'evento",
        5: "periodo mancante: indicare il mese o la data",
    }
    aggregates = frame([{"cell": cell, "month": "2024-03", "category": "rapine", "time_band": "Night", "count": "4"},
                        {"cell": cell, "month": "03/2024", "category": "rapine", "time_band": "giorno",
                         "count": ""}])
    result = run(aggregates, schemas.INCIDENTS, mc_store, mc_territory)
    assert result.data[["time_band", "count"]].values.tolist() == [["notte", 4]]
    assert reasons(result) == {3: "numero di delitti mancante"}
    assert list(result.data.columns) == [*STORAGE_COLUMNS["incidents"], "lon", "lat"]


def test_reports_status_default_and_closing_date(mc_store, mc_territory):
    base = {"category": "rifiuti", "lat": "44.0357", "lon": "10.1402"}
    rows = [{"report_id": "R1", "opened": "01/02/2024", **base},
            {"report_id": "R2", "opened": "01/02/2024", "closed": "10/02/2024", **base},
            {"report_id": "R3", "opened": "01/02/2024", "closed": "10/01/2024", **base},
            {"report_id": "R4", "opened": "01/02/2024", "status": "Presa in carico", **base}]
    result = run(frame(rows), schemas.REPORTS, mc_store, mc_territory)
    assert result.data["status"].tolist() == ["nuova", "risolta", "presa_in_carico"]
    assert reasons(result) == {4: "data di chiusura precedente all'apertura"}


def test_validation_of_100k_events(mc_store, mc_territory):
    n = 100_000
    rng = np.random.default_rng(3)
    lat = MASSA[0] + rng.uniform(-0.01, 0.01, n)
    lon = MASSA[1] + rng.uniform(-0.01, 0.01, n)
    minutes = rng.integers(0, 365 * 24 * 60, n)
    when = (np.datetime64("2024-01-01T00:00") + minutes.astype("timedelta64[m]")).astype(str)
    df = pd.DataFrame({"date": pd.Series(when).str.replace("T", " ").to_numpy(),
                       "category": rng.choice(["Rapina", "furto", "Borseggio", "truffe_frodi"], n),
                       "lat": pd.Series(lat).map("{:.6f}".format).str.replace(".", ",", regex=False).to_numpy(),
                       "lon": pd.Series(lon).map("{:.6f}".format).to_numpy()},
                      index=pd.RangeIndex(2, n + 2, name="riga"))
    result = run(df, schemas.INCIDENTS, mc_store, mc_territory)
    assert result.report.empty
    assert len(result.data) == n
