"""Place names of hexagons: nearest locality of the cell's comune, "presso" beyond its reach."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from geo.overview import places

LAT0, LON0 = 44.05, 10.10
KM_LAT = 1 / 111.2  # degrees of latitude per km
KM_LON = 1 / (111.2 * np.cos(np.radians(LAT0)))


def cell_at(dx_km: float, dy_km: float, res: int = 9) -> int:
    return h3.str_to_int(h3.latlng_to_cell(LAT0 + dy_km * KM_LAT, LON0 + dx_km * KM_LON, res))


def loc(nome: str, tipo: str, code: str | None, dx_km: float, dy_km: float) -> dict:
    return {"nome": nome, "tipo": tipo, "pro_com_t": code, "lat": LAT0 + dy_km * KM_LAT,
            "lon": LON0 + dx_km * KM_LON}


NAMES = {"000001": "Uno", "000002": "Due", "000003": "Tre"}


@pytest.fixture(scope="module")
def localities() -> pd.DataFrame:
    return pd.DataFrame([
        loc("Alfa", "frazione", "000001", 0.0, 0.0),
        loc("Uno", "sede_comunale", "000001", -4.0, 0.0),
        loc("Beta", "frazione", "000002", 1.0, 0.0),       # across the border, nearer to some cells of Uno
        loc("Monte Cima", "vetta", "000001", 0.3, 0.0),     # peaks do not name places
        loc("Grande", "citta", "000002", 10.0, 0.0),
    ])


def test_the_nearest_locality_of_the_cells_own_comune_names_it(localities):
    cells = [cell_at(0.1, 0.0), cell_at(0.8, 0.0), cell_at(0.8, 0.0)]
    found = places.locate(localities, cells, comuni=["000001", "000001", "000002"], comune_names=NAMES)
    assert found["locality"].tolist() == ["Alfa", "Alfa", "Beta"]  # 0.8 km: Beta is nearer, but in Due
    assert found["place"].tolist() == ["Alfa", "Alfa", "Beta"]
    assert found["label"].tolist() == ["Alfa (Uno)", "Alfa (Uno)", "Beta (Due)"]
    assert found["distance_m"].tolist() == pytest.approx([100, 800, 200], abs=150)


def test_a_far_cell_is_presso_its_locality_and_cities_reach_further(localities):
    cells = [cell_at(0.0, 2.5), cell_at(10.0, 2.5), cell_at(10.0, 4.0)]
    found = places.locate(localities, cells, comuni=["000001", "000002", "000002"], comune_names=NAMES)
    assert found["place"].tolist() == ["presso Alfa", "Grande", "presso Grande"]
    assert found["label"].tolist() == ["presso Alfa (Uno)", "Grande (Due)", "presso Grande (Due)"]
    assert found.loc[0, "distance_m"] == pytest.approx(2500, abs=250)


def test_a_comune_without_localities_and_an_unknown_comune(localities):
    cells = [cell_at(0.2, 0.0), cell_at(0.9, 0.1)]
    found = places.locate(localities, cells, comuni=["000003", None], comune_names=NAMES)
    assert found["place"].tolist() == ["Tre", "Beta"]  # the comune's own name; the nearest of all
    assert found["label"].tolist() == ["Tre", "Beta"]


def test_the_locality_named_like_its_comune_is_not_repeated(localities):
    found = places.locate(localities, [cell_at(-4.0, 0.2)], comuni=["000001"], comune_names=NAMES)
    assert found["label"].tolist() == ["Uno"]


def test_place_names_is_a_series_by_cell_in_the_given_order_and_accepts_a_mapping(localities):
    cells = [cell_at(10.0, 0.0), cell_at(0.0, 0.1), cell_at(0.0, 2.5)]
    mapping = {cells[0]: "000002", cells[1]: "000001", cells[2]: "000001"}
    names = places.place_names(localities, cells, comuni=mapping)
    assert names.index.tolist() == cells
    assert names.tolist() == ["Grande", "Alfa", "presso Alfa"]


def test_no_localities_gives_the_comune_or_nothing():
    empty = pd.DataFrame(columns=["nome", "tipo", "pro_com_t", "lat", "lon"])
    found = places.locate(empty, [cell_at(0, 0), cell_at(1, 1)], comuni=["000001", None], comune_names=NAMES)
    assert found["place"].tolist() == ["Uno", None]
    assert found["label"].tolist() == ["Uno", ""]


def test_many_cells_at_once_match_a_brute_force_search(localities):
    rng = np.random.default_rng(5)
    xy = rng.uniform(-6, 12, size=(400, 2))
    cells = [cell_at(x, y) for x, y in xy]
    codes = rng.choice(["000001", "000002"], size=len(cells)).tolist()
    found = places.locate(localities, cells, comuni=codes, comune_names=NAMES)
    lat, lon = np.array([h3.cell_to_latlng(h3.int_to_str(c)) for c in cells]).T
    ok = localities[localities["tipo"] != "vetta"]
    for i in range(len(cells)):
        mine = ok[ok["pro_com_t"] == codes[i]]
        dy = (mine["lat"].to_numpy() - lat[i]) * 111_195.0
        dx = (mine["lon"].to_numpy() - lon[i]) * 111_195.0 * np.cos(np.radians(mine["lat"].mean()))
        assert found.loc[i, "locality"] == mine["nome"].to_numpy()[np.argmin(np.hypot(dx, dy))]


def test_names_from_a_territory_use_its_comuni_polygons():
    from geo.data.territory import load_territory

    terr = load_territory("massa-carrara")
    ctr = terr.localities[terr.localities["tipo"] == "capoluogo"].iloc[0]
    cell = h3.str_to_int(h3.latlng_to_cell(ctr.geometry.y, ctr.geometry.x, 9))
    found = places.locate(terr, [cell])
    assert found.loc[0, "pro_com_t"] == ctr["pro_com_t"]
    assert found.loc[0, "locality"] is not None
    assert found.loc[0, "comune"] == terr.comuni.set_index("pro_com_t").loc[ctr["pro_com_t"], "nome"]
