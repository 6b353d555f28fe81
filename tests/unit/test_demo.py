"""The demo builder: official totals, determinism, synthetic flags, atomic writes."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pandas as pd
import pytest

from geo.data import hexgrid
from geo.data.schemas import INCIDENT_CATEGORIES
from geo.data.storage import TABLES, StorageError, Store
from geo.data.territory import load_territory
from geo.demo import build as demo
from geo.demo.build import GENERATED_TABLES, build_demo

YEARS = range(2019, 2025)


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory):
    """The Massa-Carrara demo, built once per session (the build time is printed, not asserted)."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    steps: list[tuple[float, str]] = []
    started = time.perf_counter()
    summary = build_demo("massa-carrara", path=path, progress=lambda f, t: steps.append((f, t)))
    print(f"\nbuild_demo: {time.perf_counter() - started:.1f} s, {path.stat().st_size / 1e6:.1f} MB, "
          f"{summary['counts']}")
    return {"path": path, "summary": summary, "steps": steps}


@pytest.fixture(scope="session")
def demo_tables(demo_build) -> dict[str, pd.DataFrame]:
    with Store(demo_build["path"], read_only=True) as store:
        return {t: store.table(t) for t in TABLES}


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in df.columns if c != "geometry_wkb"]
    key = df[cols].astype(str)
    return df.loc[key.sort_values(cols).index].reset_index(drop=True)


def test_build_summary_and_meta(demo_build, demo_tables):
    summary = demo_build["summary"]
    assert summary["built"]
    assert not summary["skipped"]
    for table in GENERATED_TABLES:
        assert summary["counts"][table] == len(demo_tables[table]) > 0
    meta = dict(zip(demo_tables["meta"]["key"], demo_tables["meta"]["value"], strict=True))
    assert meta["demo"] == "true"
    assert meta["seed"] == str(summary["seed"])
    assert pd.Timestamp(meta["built_at"]).year >= 2024
    assert len(pd.read_json(io.StringIO(meta["demo_hotspots"]))) >= 2
    # no temporary file left next to the target
    assert [p.name for p in demo_build["path"].parent.iterdir() if p.name.endswith(".tmp")] == []


def test_progress_is_monotone_and_italian(demo_build):
    fractions = [f for f, _ in demo_build["steps"]]
    assert fractions == sorted(fractions)
    assert fractions[0] > 0
    assert fractions[-1] == 1.0
    assert all(text and text[0].isupper() for _, text in demo_build["steps"])
    assert any("delitti" in text for _, text in demo_build["steps"])


def test_yearly_totals_equal_official(demo_tables):
    inc = demo_tables["incidents"]
    official = load_territory("massa-carrara").official_crime
    by_year_cat = inc.groupby([inc["month"].dt.year, "category"])["count"].sum()
    by_year = inc.groupby(inc["month"].dt.year)["count"].sum()
    for year in YEARS:
        off = official[official["anno"] == year].set_index("categoria")["delitti"]
        assert by_year[year] == off["totale"], year
        assert by_year_cat[(year, "lesioni_minacce")] == off["lesioni_minacce"], year
        if year <= 2020:
            for cat in INCIDENT_CATEGORIES:
                assert by_year_cat[(year, cat)] == off[cat], (year, cat)
    assert sorted(inc["month"].dt.year.unique()) == list(YEARS)


def test_incident_rows_are_valid_aggregates(demo_tables):
    inc, cells = demo_tables["incidents"], demo_tables["cells"]
    assert len(inc) < 400_000
    assert (inc["count"] > 0).all()
    assert (inc["month"].dt.day == 1).all()
    assert set(inc["category"]) == set(INCIDENT_CATEGORIES)
    assert set(inc["time_band"]) == {"giorno", "notte"}
    assert inc["cell"].isin(cells["cell"]).all()
    assert inc["import_id"].isna().all()
    keys = ["cell", "month", "category", "time_band", "outdoor"]
    assert not inc.duplicated(keys).any()
    # frauds are never outdoor: lighting cannot prevent them
    assert not inc.loc[inc["category"] == "truffe_frodi", "outdoor"].any()


def test_generated_points_lie_in_their_cells(demo_tables):
    for table in ("lighting", "reports", "schools", "services"):
        df = demo_tables[table]
        df = df[df["synthetic"]]
        cells = hexgrid.points_to_cells(df["lat"].to_numpy(), df["lon"].to_numpy(), 10)
        assert (cells == df["cell"].to_numpy()).all(), table
        assert df["cell"].isin(demo_tables["cells"]["cell"]).all(), table
        assert df["pro_com_t"].isin(demo_tables["comuni"]["pro_com_t"]).all(), table


def test_every_generated_row_flagged(demo_tables):
    for table in GENERATED_TABLES:
        df = demo_tables[table]
        if table == "schools":
            df = df[df["level"] != "infanzia"]
        assert len(df), table
        assert df["synthetic"].all(), table
        assert (df["source"] == "Generato (demo)").all(), table
    territory = load_territory("massa-carrara")
    schools = demo_tables["schools"].set_index("code")
    real_codes = territory.schools["codice"].tolist()
    assert not schools.loc[real_codes, "synthetic"].any()
    assert (schools.loc[real_codes, "level"] == "infanzia").all()
    assert not schools.loc[schools["synthetic"], "level"].eq("infanzia").any()
    assert len(demo_tables["confiscated"]) == len(territory.confiscated)
    assert not demo_tables["confiscated"]["source"].str.contains("demo", case=False).any()
    assert not demo_tables["localities"]["source"].str.contains("demo", case=False).any()
    assert demo_tables["crime_official"]["fonte"].str.contains("ISTAT|Ministero").all()


def test_demo_is_deterministic(demo_tables, tmp_path):
    other = tmp_path / "again.duckdb"
    build_demo("massa-carrara", path=other)
    with Store(other, read_only=True) as store:
        for table in TABLES:
            if table == "meta":
                continue
            pd.testing.assert_frame_equal(_sorted(store.table(table)), _sorted(demo_tables[table]), obj=table)
    changed = tmp_path / "seed.duckdb"
    build_demo("massa-carrara", path=changed, seed=12345)
    with Store(changed, read_only=True) as store:
        inc = store.table("incidents")
        assert not _sorted(inc).equals(_sorted(demo_tables["incidents"]))
        # the official totals hold for any seed
        assert inc["count"].sum() == demo_tables["incidents"]["count"].sum()
        assert store.get_meta("seed") == "12345"


def test_existing_built_database_is_kept(demo_build):
    path = demo_build["path"]
    before = path.stat().st_mtime_ns
    summary = build_demo("massa-carrara", path=path)
    assert summary["skipped"]
    assert not summary["built"]
    assert path.stat().st_mtime_ns == before


def test_failed_build_leaves_target_untouched(tmp_path, monkeypatch):
    target = tmp_path / "crash.duckdb"

    def boom(*_args, **_kwargs):
        raise RuntimeError("generatore rotto")

    monkeypatch.setattr(demo, "generate_layers", boom)
    with pytest.raises(RuntimeError, match="generatore rotto"):
        build_demo("massa-carrara", path=target)
    assert list(tmp_path.iterdir()) == []

    target.write_bytes(b"previous content")
    with pytest.raises(RuntimeError):
        build_demo("massa-carrara", path=target, force=True)
    assert target.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crash.duckdb"]


def test_any_territory_folder(tiny_territory_dir, tmp_path):
    """A made-up territory without official crime figures, sigla or attractors but a station."""
    summary = build_demo(tiny_territory_dir, path=tmp_path / "tiny.duckdb")
    with Store(tmp_path / "tiny.duckdb", read_only=True) as store:
        inc = store.table("incidents")
        assert inc["cell"].isin(store.table("cells")["cell"]).all()
        # no official totals: the national rate per resident times the population
        yearly = inc.groupby(inc["month"].dt.year)["count"].sum()
        assert len(yearly) == 6
        assert (yearly > 0).all()
        per_1000 = yearly.mean() / 15_000 * 1000
        assert 20 < per_1000 < 60
        schools = store.table("schools")
        assert schools["code"].str.startswith("XX").all()
        services = store.table("services")
        assert set(services["pro_com_t"]) == {"098001", "098002"}
        for table in GENERATED_TABLES:
            assert store.count(table, synthetic=True) == store.count(table) == summary["counts"][table]


def test_generated_frames_match_storage_columns(demo_build):
    with Store(demo_build["path"], read_only=True) as store:
        for table in GENERATED_TABLES:
            ddl = store.query(f"DESCRIBE {table}")["column_name"].tolist()
            cols = store.table(table).columns.tolist()
            assert cols == ddl
    from geo.demo.synth import incidents, lighting, reports, schools, services

    expected = {
        "incidents": incidents.INCIDENT_COLUMNS, "lighting": lighting.LIGHTING_COLUMNS,
        "reports": reports.REPORT_COLUMNS, "schools": schools.SCHOOL_COLUMNS, "services": services.SERVICE_COLUMNS,
    }
    with Store(demo_build["path"], read_only=True) as store:
        for table, cols in expected.items():
            ddl = store.query(f"DESCRIBE {table}")["column_name"].tolist()
            assert sorted(cols) == sorted(ddl), table


def test_hotspots_stand_out(demo_tables):
    """Persistent hot spots carry more drug crimes than any ordinary cell; emerging ones grow."""
    meta = dict(zip(demo_tables["meta"]["key"], demo_tables["meta"]["value"], strict=True))
    spots = pd.DataFrame(json.loads(meta["demo_hotspots"]))
    spots["cell"] = hexgrid.from_str(spots["cell"])
    assert set(spots["tipo"]) == {"persistente", "emergente"}
    inc = demo_tables["incidents"]
    drugs = inc[inc["category"] == "stupefacenti"].groupby("cell")["count"].sum()
    top = drugs.sort_values(ascending=False).head(10).index
    assert spots.loc[spots["tipo"] == "persistente", "cell"].isin(top).sum() >= 2
    around = np.concatenate([hexgrid.neighbours(c, 1) for c in spots.loc[spots["tipo"] == "emergente", "cell"]])
    near = inc[inc["cell"].isin(around)]
    yearly = near.groupby(near["month"].dt.year)["count"].sum().reindex(YEARS, fill_value=0)
    assert yearly[2024] > 2 * max(yearly[2019], 1)
    assert np.corrcoef(np.arange(6), yearly.to_numpy())[0, 1] > 0.8


def test_database_in_use_is_not_replaced(demo_build):
    """A database open in this process (e.g. by the dashboard) is neither rebuilt nor replaced."""
    path = demo_build["path"]
    before = path.stat().st_mtime_ns
    with Store(path) as _open_elsewhere, pytest.raises(StorageError, match="in uso"):
        build_demo("massa-carrara", path=path, force=True)
    assert path.stat().st_mtime_ns == before
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
