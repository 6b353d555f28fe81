"""Incident events to aggregates (geo.data.aggregate)."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from geo.data import hexgrid
from geo.data.aggregate import AGGREGATE_COLUMNS, aggregate_incident_cells, aggregate_incident_points, time_bands

MASSA = (44.0357, 10.1402)
CARRARA = (44.0790, 10.0977)


def cell_of(lat: float, lon: float) -> int:
    return h3.str_to_int(h3.latlng_to_cell(lat, lon, 10))


def test_counts_cell_month_band():
    lat = np.array([MASSA[0], MASSA[0] + 1e-5, MASSA[0], CARRARA[0]])
    lon = np.array([MASSA[1], MASSA[1], MASSA[1], CARRARA[1]])
    when = np.array(["2024-03-02T22:15", "2024-03-30T23:40", "2024-03-15T10:05", "2024-04-04T07:30"],
                    dtype="datetime64[m]")
    cats = np.array(["furti_destrezza", "furti_destrezza", "rapine", "furti_abitazione"])
    out = aggregate_incident_points(lat, lon, when, cats)
    assert list(out.columns) == AGGREGATE_COLUMNS
    assert out.to_dict("records") == sorted([
        {"cell": cell_of(*MASSA), "month": pd.Timestamp("2024-03-01"), "category": "furti_destrezza",
         "time_band": "notte", "outdoor": None, "count": 2},
        {"cell": cell_of(*MASSA), "month": pd.Timestamp("2024-03-01"), "category": "rapine",
         "time_band": "giorno", "outdoor": None, "count": 1},
        {"cell": cell_of(*CARRARA), "month": pd.Timestamp("2024-04-01"), "category": "furti_abitazione",
         "time_band": "giorno", "outdoor": None, "count": 1},
    ], key=lambda r: (r["cell"], r["category"]))
    assert out["cell"].dtype == np.int64
    assert out["count"].dtype == np.int64


def test_night_band_boundaries():
    when = np.array(["2024-01-01T19:59", "2024-01-01T20:00", "2024-01-01T05:59", "2024-01-01T06:00",
                     "2024-01-01T00:00", "NaT"], dtype="datetime64[m]")
    assert time_bands(when).tolist() == ["giorno", "notte", "notte", "giorno", "notte", None]


def test_timezone_aware_times_use_italian_local_time():
    # 18:30 UTC in July is 20:30 in Italy (night); 04:30 UTC in January is 05:30 (night)
    when = pd.Series(pd.to_datetime(["2024-07-01 18:30", "2024-01-10 04:30", "2024-01-10 05:30"], utc=True))
    assert time_bands(when).tolist() == ["notte", "notte", "giorno"]


def test_explicit_time_band_and_outdoor():
    lat = np.full(4, MASSA[0])
    lon = np.full(4, MASSA[1])
    when = np.array(["2024-05-01T12:00"] * 4, dtype="datetime64[m]")
    out = aggregate_incident_points(lat, lon, when, np.array(["rapine"] * 4),
                                    time_band=np.array(["notte", None, "notte", None], dtype=object),
                                    outdoor=pd.array([True, True, False, None], dtype="boolean"))
    got = {(r.time_band, None if pd.isna(r.outdoor) else bool(r.outdoor)): r.count for r in out.itertuples()}
    assert got == {("giorno", True): 1, ("giorno", None): 1, ("notte", True): 1, ("notte", False): 1}


def test_undated_events_have_no_month():
    out = aggregate_incident_points(np.array([MASSA[0]]), np.array([MASSA[1]]), None, np.array(["altro"]),
                                    time_band=np.array(["giorno"]))
    assert pd.isna(out["month"].iloc[0])
    assert out["time_band"].iloc[0] == "giorno"


def test_no_coordinates_in_output():
    rng = np.random.default_rng(5)
    lat = MASSA[0] + rng.uniform(-0.02, 0.02, 1000)
    lon = MASSA[1] + rng.uniform(-0.02, 0.02, 1000)
    when = np.datetime64("2024-01-01T00:00") + rng.integers(0, 525_600, 1000).astype("timedelta64[m]")
    out = aggregate_incident_points(lat, lon, when, rng.choice(["rapine", "altro"], 1000))
    assert set(out.columns) == set(AGGREGATE_COLUMNS)
    floats = out.select_dtypes("number").drop(columns=["cell", "count"])
    assert floats.empty
    assert out["count"].sum() == 1000


def test_matches_a_pandas_groupby():
    rng = np.random.default_rng(11)
    n = 20_000
    lat = MASSA[0] + rng.uniform(-0.05, 0.05, n)
    lon = MASSA[1] + rng.uniform(-0.05, 0.05, n)
    when = np.datetime64("2023-01-01T00:00") + rng.integers(0, 2 * 525_600, n).astype("timedelta64[m]")
    cats = rng.choice(["rapine", "furti_altri", "truffe_frodi"], n)
    outdoor = rng.random(n) < 0.4
    out = aggregate_incident_points(lat, lon, when, cats, outdoor=outdoor)
    hours = pd.Series(when).dt.hour
    reference = pd.DataFrame({
        "cell": hexgrid.points_to_cells(lat, lon, 10),
        "month": pd.Series(when).dt.to_period("M").dt.to_timestamp(),
        "category": cats,
        "time_band": np.where((hours >= 20) | (hours < 6), "notte", "giorno"),
        "outdoor": outdoor,
    }).groupby(["cell", "month", "category", "time_band", "outdoor"]).size().rename("count").reset_index()
    merged = out.astype({"outdoor": bool, "category": object, "time_band": object}).merge(
        reference.astype({"category": object, "time_band": object}),
        on=["cell", "month", "category", "time_band", "outdoor"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["count_x"] == merged["count_y"]).all()


def test_aggregate_cells_with_counts():
    cell = cell_of(*MASSA)
    out = aggregate_incident_cells(
        np.array([cell, cell, cell]), pd.to_datetime(["2024-03-01", "2024-03-20", "2024-04-01"]),
        np.array(["rapine"] * 3), time_band=np.array(["notte"] * 3), count=np.array([4, 3, 2]))
    assert out[["month", "count"]].values.tolist() == [[pd.Timestamp("2024-03-01"), 7],
                                                        [pd.Timestamp("2024-04-01"), 2]]


def test_invalid_inputs_refused():
    with pytest.raises(ValueError, match="coordinate mancanti o non finite"):
        aggregate_incident_points(np.array([np.nan]), np.array([10.0]), None, np.array(["rapine"]))
    with pytest.raises(ValueError, match="valori non ammessi"):
        aggregate_incident_points(np.array([MASSA[0]]), np.array([MASSA[1]]), None, np.array(["rapine"]),
                                  time_band=np.array(["sera"]))
    with pytest.raises(ValueError, match="categoria mancante"):
        aggregate_incident_points(np.array([MASSA[0]]), np.array([MASSA[1]]), None, np.array([None]))


def test_bulk_million_points_conserves_counts():
    # speed is measured by scripts/bench_aggregate.py, not asserted here
    n = 1_000_000
    rng = np.random.default_rng(13)
    lat = MASSA[0] + rng.uniform(-0.1, 0.1, n)
    lon = MASSA[1] + rng.uniform(-0.1, 0.1, n)
    when = np.datetime64("2019-01-01T00:00") + rng.integers(0, 6 * 525_600, n).astype("timedelta64[m]")
    cats = rng.choice(["rapine", "furti_altri", "truffe_frodi", "altro"], n)
    out = aggregate_incident_points(lat, lon, when, cats, outdoor=rng.random(n) < 0.5)
    assert out["count"].sum() == n
    assert not out.duplicated(["cell", "month", "category", "time_band", "outdoor"]).any()
    assert set(hexgrid.cell_resolution(out["cell"].to_numpy())) == {10}


def test_categorical_input_same_result():
    rng = np.random.default_rng(5)
    n = 2000
    lat = MASSA[0] + rng.uniform(-0.02, 0.02, n)
    lon = MASSA[1] + rng.uniform(-0.02, 0.02, n)
    when = np.datetime64("2024-01-01T00:00") + rng.integers(0, 525_600, n).astype("timedelta64[m]")
    cats = rng.choice(["rapine", "furti_altri", "altro"], n)
    plain = aggregate_incident_points(lat, lon, when, cats)
    coded = aggregate_incident_points(lat, lon, when, pd.Categorical(cats))
    pd.testing.assert_frame_equal(plain, coded)


def test_write_incident_points_equals_python_aggregation(mc_store):
    from geo.data.aggregate import write_incident_points
    from geo.data.storage import Store

    rng = np.random.default_rng(11)
    n = 5000
    lat = MASSA[0] + rng.uniform(-0.01, 0.01, n)
    lon = MASSA[1] + rng.uniform(-0.01, 0.01, n)
    when = np.datetime64("2023-01-01T00:00") + rng.integers(0, 2 * 525_600, n).astype("timedelta64[m]")
    cats = pd.Categorical(rng.choice(["rapine", "stupefacenti", "furti_altri"], n))
    outdoor = np.where(rng.random(n) < 0.2, None, rng.random(n) < 0.5)
    with mc_store.transaction() as cur:
        written = write_incident_points(cur, lat, lon, when, cats, outdoor=outdoor, synthetic=False, source="sql")
    expected = aggregate_incident_points(lat, lon, when, cats, outdoor=outdoor)
    assert written == len(expected)
    with mc_store.transaction() as cur:
        Store.write_frame(cur, "incidents", expected.assign(synthetic=False, source="py", import_id=None))
    got = mc_store.query(
        "SELECT source, cell, month, category, time_band, outdoor, count FROM incidents ORDER BY ALL")
    sql = got[got.source == "sql"].drop(columns="source").reset_index(drop=True)
    py = got[got.source == "py"].drop(columns="source").reset_index(drop=True)
    pd.testing.assert_frame_equal(sql, py)


def test_write_incident_points_rejects_unknown_category_and_missing_date(mc_store):
    from geo.data.aggregate import write_incident_points

    lat, lon = np.array([MASSA[0]]), np.array([MASSA[1]])
    when = np.array(["2024-01-01T10:00"], dtype="datetime64[m]")
    with pytest.raises(ValueError, match="categorie sconosciute"), mc_store.transaction() as cur:
        write_incident_points(cur, lat, lon, when, np.array(["scippo"]), synthetic=False, source="t")
    with pytest.raises(ValueError, match="data mancante"), mc_store.transaction() as cur:
        write_incident_points(cur, lat, lon, np.array(["NaT"], dtype="datetime64[m]"), np.array(["rapine"]),
                              synthetic=False, source="t")
    assert mc_store.count("incidents") == 0
