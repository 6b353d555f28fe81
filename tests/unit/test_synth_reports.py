"""Degradation reports: calibration on the real Alessandria reports and the generated layer."""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from geo import config
from geo.data.schemas import REPORT_CATEGORIES, REPORT_SEVERITY, REPORT_STATUS
from geo.demo.synth import child_rng
from geo.demo.synth import incidents as inc
from geo.demo.synth import lighting as lit
from geo.demo.synth import reports as rep

ALESSANDRIA = config.NATIONAL_DIR / "segnalazioni_alessandria_municipium.csv"


@pytest.fixture(scope="module")
def real(mc_places):
    cells, loc, comuni, places = mc_places.cells, mc_places.loc, mc_places.comuni, mc_places.places
    lights = lit.generate_lighting(cells, loc, comuni, rng=child_rng(1, "lighting"), places=places)
    hotspots = inc.choose_hotspots(cells, loc, comuni, rng=child_rng(1, "hotspots"), places=places)
    cal = rep.calibrate(rep.load_alessandria())
    frame = rep.generate_reports(cells, loc, comuni, cal, rng=child_rng(1, "reports"), lighting=lights,
                                 hotspots=hotspots, places=places)
    return SimpleNamespace(cells=cells, loc=loc, comuni=comuni, places=places, lights=lights, hotspots=hotspots,
                           cal=cal, frame=frame)


def test_calibration_is_computed_from_the_file(real):
    raw = pd.read_csv(ALESSANDRIA, sep=";", parse_dates=["Creato", "Chiusa"])
    cal = real.cal
    days = (raw["Creato"].max() - raw["Creato"].min()).days + 1
    assert cal.years_observed == pytest.approx(days / 365.25)
    in_scope = raw["Categoria"].map(rep.ALESSANDRIA_CATEGORY_MAP).notna()
    assert cal.in_scope_share == pytest.approx(in_scope.mean())
    assert cal.in_scope_rate == pytest.approx(in_scope.sum() / (days / 365.25) / rep.ALESSANDRIA_RESIDENTS)
    assert cal.reports_per_resident_year == pytest.approx(len(raw) / (days / 365.25) / rep.ALESSANDRIA_RESIDENTS)
    # the mapped categories keep Alessandria's rate per resident
    extra = sum(rep.EXTRA_CATEGORY_SHARES.values())
    assert cal.rate * (1 - extra) == pytest.approx(cal.in_scope_rate)
    assert sum(cal.category_shares.values()) == pytest.approx(1.0)
    verde = raw["Categoria"].isin(["Verde pubblico", "Parchi gioco e aree cani"]).sum() / in_scope.sum()
    assert cal.category_shares["verde_incolto"] == pytest.approx((1 - extra) * verde)
    closed = raw[raw["Stato"] == "chiusa"]
    median = (closed["Chiusa"] - closed["Creato"]).dt.days.median()
    assert cal.close_days[50] == pytest.approx(median)
    assert cal.status_by_age.sum(axis=1).to_numpy() == pytest.approx(np.ones(rep.MAX_AGE_YEARS + 1))
    # recent reports are more often still open, as in the real data
    assert cal.status_by_age.loc[0, "aperta"] > cal.status_by_age.loc[2, "aperta"]


def test_out_of_scope_categories_are_road_maintenance():
    assert rep.ALESSANDRIA_CATEGORY_MAP["Buche"] is None
    assert rep.ALESSANDRIA_CATEGORY_MAP["Semafori e segnaletica stradale"] is None
    assert rep.ALESSANDRIA_CATEGORY_MAP["Tombini"] is None
    raw = pd.read_csv(ALESSANDRIA, sep=";")
    assert set(raw["Categoria"].dropna()) <= set(rep.ALESSANDRIA_CATEGORY_MAP)
    assert {v for v in rep.ALESSANDRIA_CATEGORY_MAP.values() if v} <= set(REPORT_CATEGORIES)


def test_volume_per_resident(real):
    years = ((rep.PERIOD[1] - rep.PERIOD[0]).days + 1) / 365.25
    expected = real.cal.rate * real.comuni["residenti"].sum() * years
    assert len(real.frame) == round(expected)
    per_comune = real.frame.groupby("pro_com_t").size()
    pop = real.comuni.set_index("pro_com_t")["residenti"]
    assert per_comune.sum() == len(real.frame)
    # reports follow residents: Massa-size comuni dominate, every comune above 5,000 residents has some
    assert (per_comune.reindex(pop[pop > 5000].index).fillna(0) > 0).all()
    assert np.corrcoef(pop, per_comune.reindex(pop.index).fillna(0))[0, 1] > 0.95


def test_category_mix(real):
    share = real.frame["category"].value_counts(normalize=True)
    for cat, expected in real.cal.category_shares.items():
        assert share.get(cat, 0.0) == pytest.approx(expected, abs=0.002), cat


def test_status_shares_close_to_alessandria(real):
    f = real.frame
    assert set(f["status"]) <= set(REPORT_STATUS)
    group = f["status"].map({"risolta": "risolta", "respinta": "respinta"}).fillna("aperta_o_in_carico")
    age = np.clip(np.floor((pd.Timestamp(rep.PERIOD[1]) - f["opened"]).dt.days / 365.25).astype(int), 0, 2)
    for a in range(rep.MAX_AGE_YEARS + 1):
        got = group[age == a].value_counts(normalize=True)
        want = real.cal.status_by_age.loc[a]
        assert got["risolta"] == pytest.approx(want["risolta"], abs=0.04), a
        assert got["respinta"] == pytest.approx(want["respinta"], abs=0.03), a
        assert got["aperta_o_in_carico"] == pytest.approx(want["aperta"] + want["in_carico"], abs=0.04), a
    # some reports are on the CPOSP agenda or scheduled, only among open ones
    assert 0 < (f["status"] == "in_agenda_cposp").mean() < 0.05
    assert 0 < (f["status"] == "intervento_programmato").mean() < 0.06
    assert f.loc[f["status"] == "in_agenda_cposp", "category"].isin(rep.CPOSP_CATEGORIES).all()


def test_closing_dates(real):
    f = real.frame
    done = f["status"].isin(["risolta", "respinta"])
    assert f.loc[done, "closed"].notna().all()
    assert f.loc[~done, "closed"].isna().all()
    assert (f.loc[done, "closed"] >= f.loc[done, "opened"]).all()
    assert (f["closed"].dropna() <= pd.Timestamp(rep.PERIOD[1])).all()
    assert f["opened"].min() >= pd.Timestamp(rep.PERIOD[0])
    assert f["opened"].max() <= pd.Timestamp(rep.PERIOD[1])
    days = (f.loc[f["status"] == "risolta", "closed"] - f.loc[f["status"] == "risolta", "opened"]).dt.days
    assert days.median() == pytest.approx(real.cal.close_days[50], abs=2)
    assert days.quantile(0.9) <= real.cal.close_days[90] + 5


def test_locations(real):
    f = real.frame
    places = real.places
    assert f["cell"].isin(real.cells["cell"]).all()
    pos = places.index_of(f["cell"].to_numpy())
    station = places.kind_kernel("stazione") > 0.1
    hot = np.zeros(places.cells.size, bool)
    for cell in real.hotspots["cell"]:
        hot[places.footprint(int(cell))[0]] = True
    f = f.assign(station=station[pos], hot=hot[pos])
    by_cat = f.groupby("category")[["station", "hot"]].mean()
    assert by_cat.at["spaccio_assembramenti", "hot"] > 0.4
    assert by_cat.at["bivacco_marginalita", "hot"] + by_cat.at["bivacco_marginalita", "station"] > 0.3
    assert by_cat.at["rifiuti_abbandonati", "hot"] < 0.05
    broken = set(real.lights.loc[real.lights["status"] == "guasto", "cell"])
    lamp = f[f["category"] == "illuminazione_guasta"]
    assert lamp["cell"].isin(broken).mean() > 0.7
    # rubbish is dumped in the outskirts more than camps are set up there
    r = places.peripherality[pos]
    assert r[f["category"] == "rifiuti_abbandonati"].mean() > r[f["category"] == "bivacco_marginalita"].mean()


def test_fields(real):
    f = real.frame
    assert list(f.columns) == rep.REPORT_COLUMNS
    assert f["report_id"].is_unique
    assert f["report_id"].str.fullmatch(r"DEMO-\d{6}-20\d{2}-\d{5}").all()
    assert (f["report_id"].str[5:11] == f["pro_com_t"]).all()
    assert (f["report_id"].str[12:16].astype(int) == f["opened"].dt.year).all()
    assert set(f["severity"]) <= set(REPORT_SEVERITY)
    sev = f.groupby("category")["severity"].mean()
    assert sev["spaccio_assembramenti"] > sev["verde_incolto"] + 0.8
    assert f["synthetic"].all()
    assert (f["source"] == "Generato (demo)").all()
    assert f["area_wkt"].isna().all()


def test_descriptions_are_plain_italian_without_personal_data(real):
    text = real.frame["description"]
    assert text.str.len().between(20, 300).all()
    assert text.str.contains(" nei pressi di ").all()
    assert not text.str.contains(r"@|https?://|\d{6,}|[<>]", regex=True).any()
    assert text.str.contains("rifiuti ingombranti").any()
    for cat, templates in rep.TEMPLATES.items():
        got = real.frame.loc[real.frame["category"] == cat, "description"]
        assert got.map(lambda s, t=templates: any(s.startswith(x) for x in t)).all(), cat
    assert re.search(r"\b(Sig|Sig\.ra|tel)\b", " ".join(text.head(500))) is None


def test_other_period(real):
    f = rep.generate_reports(real.cells, real.loc, real.comuni, real.cal, rng=child_rng(2, "reports"),
                             period=(date(2024, 1, 1), date(2024, 12, 31)), places=real.places)
    assert f["opened"].dt.year.eq(2024).all()
    assert len(f) == pytest.approx(len(real.frame) / 3, rel=0.01)
    # without lighting data the broken-lighting reports still follow residents
    assert (f["category"] == "illuminazione_guasta").sum() > 0
