"""Homeless services (pact art. 14): coverage of the types, places, hours, visibility."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from geo.data.schemas import SERVICE_TYPES
from geo.demo.synth import child_rng
from geo.demo.synth import services as srv
from geo.services.opening_hours import parse_opening_hours

#: A small subset of OSM opening_hours: "24/7", or optional month range then day ranges and
#: time ranges separated by "; ".
_DAY = r"(?:Mo|Tu|We|Th|Fr|Sa|Su)"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DAYS = rf"{_DAY}(?:-{_DAY})?"
_RULE = rf"(?:{_MONTH}-{_MONTH} )?{_DAYS}(?:,{_DAYS})* \d\d:\d\d-\d\d:\d\d"
OPENING_HOURS = re.compile(rf"24/7|{_RULE}(?:[;,] {_RULE})*")


@pytest.fixture(scope="module")
def real(mc_places):
    ter, cells, loc, comuni, places = mc_places.ter, mc_places.cells, mc_places.loc, mc_places.comuni, mc_places.places
    frame = srv.generate_services(cells, loc, comuni, rng=child_rng(1, "services"), places=places)
    return SimpleNamespace(ter=ter, cells=cells, loc=loc, comuni=comuni, places=places, frame=frame)


def test_all_art14_types_covered(real):
    f = real.frame
    assert 8 <= len(f) <= 14
    covered = {t for types in f["types"] for t in types}
    assert covered == set(SERVICE_TYPES)
    assert list(f.columns) == srv.SERVICE_COLUMNS


def test_where(real):
    f = real.frame
    pop = real.comuni.set_index("pro_com_t")["residenti"].sort_values(ascending=False)
    assert f["pro_com_t"].value_counts().index[0] == real.ter.capoluogo
    assert set(f["pro_com_t"]) <= set(pop.index[:3])
    assert f["cell"].is_unique
    # services marked "near the station" are within the anchor radius of a station
    stations = real.loc[real.loc["tipo"] == "stazione"]
    at_station = {item["name"] for item in srv.SERVICE_PLAN if item["near"] == "stazione"}
    rows = f[f["name"].str.rsplit(" – ", n=1).str[0].isin(at_station)]
    assert len(rows) >= 4
    for _, row in rows.iterrows():
        mine = stations[stations["pro_com_t"] == row["pro_com_t"]]
        if mine.empty:
            continue
        d = np.hypot((mine["lat"] - row["lat"]) * 111_200, (mine["lon"] - row["lon"]) * 80_000).min()
        assert d < srv.ANCHOR_RADIUS_M + 60, row["name"]


def test_shelters_hours_and_capacity(real):
    f = real.frame
    shelters = f[f["types"].map(lambda t: "accoglienza_notturna" in t)]
    assert len(shelters) >= 2
    assert not shelters["public"].any()
    assert f["public"].sum() >= len(f) - len(shelters)
    assert shelters["capacity"].notna().all()
    night = shelters[~shelters["open_24h"]]
    assert night["capacity"].between(15, 30).all()
    assert (night["hours"].str.contains("19:30|20:00")).all()
    assert f["open_24h"].sum() <= 1
    assert f.loc[f["open_24h"], "hours"].eq("24/7").all()
    for hours in f["hours"]:
        assert OPENING_HOURS.fullmatch(hours), hours
        # no rule silently replaces an earlier one (OSM: ";" overrides the same days, "," adds)
        assert parse_opening_hours(hours).notes == (), hours
    meals = f[f["types"].map(lambda t: "pasti_strada" in t)]
    assert meals["hours"].str.contains(r"(?:19|20):\d\d-(?:21|22):\d\d").all()


def test_generic_operators_and_ids(real):
    f = real.frame
    assert f["service_id"].is_unique
    assert f["service_id"].str.fullmatch(r"SRV-\d{6}-\d{2}").all()
    generic = {"Caritas diocesana", "Caritas parrocchiale", "Croce Rossa Italiana – Comitato locale",
               "Cooperativa sociale", "Comune – Servizi sociali", "Associazione di volontariato",
               "Associazione di volontariato sanitario"}
    assert set(f["operator"]) <= generic
    names = dict(zip(real.comuni["pro_com_t"], real.comuni["nome"], strict=True))
    assert all(name.endswith(f" – {names[c]}") for name, c in zip(f["name"], f["pro_com_t"], strict=True))
    assert f["synthetic"].all()


def test_small_territory_gets_fewer_services(real):
    one = real.cells[real.cells["pro_com_t"] == real.ter.capoluogo]
    f = srv.generate_services(one, real.loc, real.comuni[real.comuni["pro_com_t"] == real.ter.capoluogo],
                              rng=child_rng(1, "services"))
    assert len(f) == sum(1 for item in srv.SERVICE_PLAN if item["city"] == 0)
    assert {t for types in f["types"] for t in types} == set(SERVICE_TYPES)
