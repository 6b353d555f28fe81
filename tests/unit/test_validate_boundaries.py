"""Boundary and property-based tests (hypothesis) of row validation (geo.data.validate): points
just inside and just outside the territory's edge, latitude and longitude swapped, empty strings,
coordinate limits, the longest accepted texts; and for any generated table, every row is either
kept or reported (never both), kept rows lie in the territory and carry no control characters."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.data import schemas
from geo.data.storage import Store
from geo.data.validate import validate_frame

MASSA = (44.0357, 10.1402)
OUTSIDE = "punto fuori dal territorio (Provincia di Massa-Carrara)"
MISSING = "coordinate mancanti o non valide"


@pytest.fixture(scope="module")
def store(mc_db_file):
    with Store(mc_db_file, read_only=True) as s:
        yield s


@pytest.fixture(scope="module")
def province(mc_territory):
    return mc_territory.comuni.union_all()


def frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows).fillna("").astype("str")
    df.index = pd.RangeIndex(2, 2 + len(df), name="riga")
    return df


def school(code: str, lat, lon, **extra) -> dict:
    return {"code": code, "name": f"Scuola {code}", "level": "primaria", "lat": str(lat), "lon": str(lon), **extra}


def run(rows, store, territory, layer=schemas.SCHOOLS):
    return validate_frame(frame(rows), layer, store=store, territory=territory, file_name="prova.csv")


def reasons(result) -> dict[int, str]:
    return dict(zip(result.report["riga"].astype(int), result.report["motivo"], strict=True))


def _edge_points(province, offset: float, n: int = 12) -> list[shapely.Point]:
    """``n`` points along the territory's edge moved ``offset`` degrees out (negative: in)."""
    ring = province.buffer(offset).exterior
    return [ring.interpolate(i / n, normalized=True) for i in range(n)]


def test_points_just_inside_the_edge_are_kept(store, mc_territory, province):
    points = _edge_points(province, -0.002)
    assert all(province.contains(p) for p in points)
    result = run([school(f"IN{i}", p.y, p.x) for i, p in enumerate(points)], store, mc_territory)
    assert reasons(result) == {}
    assert len(result.data) == len(points)
    assert result.data["pro_com_t"].notna().all()


def test_points_just_outside_the_edge_are_reported(store, mc_territory, province):
    points = _edge_points(province, 0.002)
    assert not any(province.contains(p) for p in points)
    result = run([school(f"OUT{i}", p.y, p.x) for i, p in enumerate(points)], store, mc_territory)
    assert reasons(result) == {i + 2: OUTSIDE for i in range(len(points))}
    assert result.data.empty


def test_latitude_and_longitude_swapped_are_outside(store, mc_territory):
    result = run([school("OK", *MASSA), school("SWAP", MASSA[1], MASSA[0])], store, mc_territory)
    assert reasons(result) == {3: OUTSIDE}
    assert result.data["code"].tolist() == ["OK"]


@pytest.mark.parametrize(("lat", "lon", "reason"), [
    ("", "", MISSING),
    ("44,0357", "", MISSING),
    ("", "10,1402", MISSING),
    ("   ", "  ", MISSING),
    ("90", "180", OUTSIDE),            # the largest valid coordinates: valid, but far away
    ("-90", "-180", OUTSIDE),
    ("90,0001", "10,1402", MISSING),   # beyond the limits: not a position
    ("44,0357", "180,0001", MISSING),
    ("nan", "inf", MISSING),
    ("44,0357", "dieci", MISSING),
])
def test_coordinate_limits_and_empty_strings(store, mc_territory, lat, lon, reason):
    result = run([school("X", lat, lon)], store, mc_territory)
    assert reasons(result) == {2: reason}
    assert result.data.empty


def test_the_longest_accepted_texts_and_one_more(store, mc_territory):
    name_max = schemas.SCHOOLS.field("name").max_len
    code_max = schemas.SCHOOLS.field("code").max_len
    rows = [school("A" * code_max, *MASSA, name="n" * name_max),
            school("B", *MASSA, name="n" * (name_max + 1)),
            school("C" * (code_max + 1), *MASSA)]
    result = run(rows, store, mc_territory)
    assert reasons(result) == {3: f"testo troppo lungo ({name_max + 1} caratteri, massimo {name_max})",
                               4: f"testo troppo lungo ({code_max + 1} caratteri, massimo {code_max})"}
    assert result.data["name"].str.len().tolist() == [name_max]


def test_an_empty_required_text_is_reported(store, mc_territory):
    result = run([school("A", *MASSA, name=""), school("", *MASSA)], store, mc_territory)
    assert set(reasons(result)) == {2, 3}


# -- properties --------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
coordinate = st.one_of(
    st.floats(min_value=43.9, max_value=44.55, allow_nan=False).map(lambda v: f"{v:.6f}".replace(".", ",")),
    st.floats(min_value=9.6, max_value=10.3, allow_nan=False).map(lambda v: f"{v:.5f}"),
    st.sampled_from(["", " ", "abc", "90", "-91", "1e3", "44,03,57"]),
)
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=220)
rows = st.lists(st.fixed_dictionaries({
    "code": st.one_of(st.sampled_from(["A", "B", "C", ""]), st.text(max_size=14)),
    "name": texts,
    "level": st.sampled_from(["primaria", "Primaria", "secondaria_i", "università", ""]),
    "lat": coordinate,
    "lon": coordinate,
}), min_size=1, max_size=15)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows)
def test_every_row_is_kept_or_reported_never_both(store, mc_territory, province, table):
    result = run(table, store, mc_territory)
    assert result.rows_read == len(table)
    kept = set(result.data.index)
    reported = set(result.report["riga"].astype(int)) if len(result.report) else set()
    assert kept.isdisjoint(reported)
    assert kept | reported == set(range(2, 2 + len(table)))
    if kept:
        near = province.buffer(0.01)
        assert all(near.contains(shapely.Point(x, y)) for x, y in zip(result.data["lon"], result.data["lat"],
                                                                        strict=True))
        assert not result.data["name"].map(lambda v: bool(_CONTROL.search(str(v)))).any()
        assert result.data["code"].is_unique
