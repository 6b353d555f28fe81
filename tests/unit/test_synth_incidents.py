"""Incident generator: yearly targets, seasonality, time bands, spatial calibration."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from geo.data.schemas import INCIDENT_CATEGORIES
from geo.demo.synth import child_rng
from geo.demo.synth import incidents as inc

CATS = list(INCIDENT_CATEGORIES)


@pytest.fixture(scope="module")
def real(mc_places):
    """Massa-Carrara cells with residents, its localities and 2019-2024 incidents (seed 1)."""
    ter, cells, loc, comuni, places = mc_places.ter, mc_places.cells, mc_places.loc, mc_places.comuni, mc_places.places
    targets = inc.yearly_targets(ter.official_crime, inc.load_national_categories())
    hotspots = inc.choose_hotspots(cells, loc, comuni, rng=child_rng(1, "hotspots"), places=places)
    frame = inc.generate_incidents(cells, loc, comuni, targets, rng=child_rng(1, "incidents"), hotspots=hotspots,
                                   places=places)
    return SimpleNamespace(ter=ter, cells=cells, loc=loc, comuni=comuni, places=places, targets=targets,
                           hotspots=hotspots, frame=frame)


def test_targets_official_where_available(real):
    t = real.targets.set_index(["anno", "categoria"])
    off = real.ter.official_crime.set_index(["anno", "categoria"])["delitti"]
    assert list(real.targets.columns) == ["anno", "categoria", "delitti", "ufficiale", "fonte"]
    for year in inc.YEARS:
        assert real.targets.loc[real.targets["anno"] == year, "delitti"].sum() == off[(year, "totale")]
        assert t.loc[(year, "lesioni_minacce"), "delitti"] == off[(year, "lesioni_minacce")]
        assert t.loc[(year, "lesioni_minacce"), "ufficiale"]
    for cat in CATS:
        for year in (2019, 2020):
            assert t.loc[(year, cat), "delitti"] == off[(year, cat)]
            assert t.loc[(year, cat), "ufficiale"]
        if cat != "lesioni_minacce":
            for year in range(2021, 2025):
                assert not t.loc[(year, cat), "ufficiale"]
                assert "Stima" in t.loc[(year, cat), "fonte"]
    assert (real.targets["delitti"] >= 0).all()
    assert real.targets["delitti"].dtype == np.int64


def test_estimated_categories_follow_the_national_trend(real):
    """2020 → 2024: national thefts grew by ~46 %, frauds by ~17 %; the estimates follow (up to
    the common rescaling to the ISTAT total)."""
    nat = inc.load_national_categories().pivot(index="anno", columns="categoria", values="delitti_denunciati")
    t = real.targets.set_index(["anno", "categoria"])["delitti"]
    thefts = t[(2024, "furti_abitazione")] / t[(2020, "furti_abitazione")]
    frauds = t[(2024, "truffe_frodi")] / t[(2020, "truffe_frodi")]
    national = (nat.at[2024, "Furti"] / nat.at[2020, "Furti"]) / (nat.at[2024, "Truffe e Frodi"]
                                                                  / nat.at[2020, "Truffe e Frodi"])
    assert thefts / frauds == pytest.approx(national, rel=0.05)


def test_targets_without_breakdown_use_national_mix():
    official = pd.DataFrame({"anno": [2019, 2020], "categoria": ["totale", "totale"], "delitti": [1000, 800],
                             "fonte": ["ISTAT", "ISTAT"]})
    t = inc.yearly_targets(official, inc.load_national_categories(), years=(2019, 2020))
    assert t.groupby("anno")["delitti"].sum().tolist() == [1000, 800]
    assert not t["ufficiale"].any()
    mix = t[t["anno"] == 2019].set_index("categoria")["delitti"]
    assert mix["furti_altri"] > mix["rapine"] > 0


def test_targets_without_total_use_population():
    t = inc.yearly_targets(pd.DataFrame(columns=["anno", "categoria", "delitti", "fonte"]),
                           inc.load_national_categories(), years=(2023,), population=100_000)
    nat = inc.load_national_categories()
    n23 = nat[nat["anno"] == 2023]
    expected = n23["delitti_denunciati"].sum() / n23["popolazione"].iloc[0] * 100_000
    assert t["delitti"].sum() == round(expected)
    with pytest.raises(ValueError, match="totale ufficiale"):
        inc.yearly_targets(pd.DataFrame(columns=["anno", "categoria", "delitti"]), inc.load_national_categories(),
                           years=(2023,))


def test_targets_fill_total_when_all_categories_are_short():
    rows = [(2019, c, 10) for c in CATS] + [(2019, "totale", 150)]
    official = pd.DataFrame(rows, columns=["anno", "categoria", "delitti"])
    t = inc.yearly_targets(official, inc.load_national_categories(), years=(2019,)).set_index("categoria")
    assert t["delitti"].sum() == 150
    assert t.at["altro", "delitti"] == 50
    assert not t.at["altro", "ufficiale"]
    assert t.drop(index="altro")["ufficiale"].all()


def test_incidents_match_targets_exactly(real):
    f = real.frame
    got = f.groupby([f["month"].dt.year, "category"])["count"].sum()
    want = real.targets.set_index(["anno", "categoria"])["delitti"]
    want = want[want > 0]
    assert got.sort_index().tolist() == want.sort_index().tolist()
    assert list(f.columns) == inc.INCIDENT_COLUMNS
    assert f["synthetic"].all()
    assert (f["count"] > 0).all()
    assert f["cell"].isin(real.cells["cell"]).all()


@pytest.mark.parametrize("category", CATS)
def test_time_band_and_outdoor_shares(real, category):
    f = real.frame[real.frame["category"] == category]
    n = f["count"].sum()
    tp = inc.TIME_PLACE[category]
    night = f.loc[f["time_band"] == "notte", "count"].sum() / n
    tol = 4 * np.sqrt(tp["night"] * (1 - tp["night"]) / n) + 1e-9
    assert night == pytest.approx(tp["night"], abs=tol)
    for band, key in (("giorno", "outdoor_day"), ("notte", "outdoor_night")):
        g = f[f["time_band"] == band]
        m = g["count"].sum()
        share = g.loc[g["outdoor"], "count"].sum() / m
        tol = 4 * np.sqrt(tp[key] * (1 - tp[key]) / m) + 1e-9
        assert share == pytest.approx(tp[key], abs=tol), band


def test_seasonality_and_lockdown(real):
    f = real.frame
    month = f["month"].dt.month
    burglary = f[f["category"] == "furti_abitazione"].groupby(month)["count"].sum()
    assert burglary[[11, 12, 1]].sum() > 1.3 * burglary[[5, 6, 7]].sum()
    fights = f[f["category"] == "lesioni_minacce"].groupby(month)["count"].sum()
    assert fights[[7, 8]].sum() > 1.25 * fights[[1, 2]].sum()
    y2020 = f[(f["month"].dt.year == 2020) & (f["category"] != "truffe_frodi")].groupby(month)["count"].sum()
    assert y2020[[3, 4, 5]].mean() < 0.6 * y2020[[1, 2, 9, 10]].mean()
    w = inc.monthly_weights("truffe_frodi", 2020)
    assert w[3] == pytest.approx(inc.monthly_weights("truffe_frodi", 2019)[3])


def test_urban_premium(real):
    f = real.frame.merge(real.cells[["cell", "pro_com_t"]], on="cell")
    per_comune = f.groupby("pro_com_t")["count"].sum()
    pop = real.comuni.set_index("pro_com_t")["residenti"]
    rate = per_comune / pop * 1000 / 6
    capoluogo = real.ter.capoluogo
    small = pop[pop < 5000].index
    assert rate[capoluogo] > 1.3 * rate[small].mean()
    assert np.corrcoef(np.log(pop), rate.reindex(pop.index))[0, 1] > 0.7


def test_attractor_categories_gather_at_stations(real):
    """Pickpocketing and drug crimes sit closer to stations and squares than burglaries do."""
    places = real.places
    near = (places.kind_kernel("stazione") + places.kind_kernel("piazza")) > 0.1
    pos = places.index_of(real.frame["cell"].to_numpy())
    share = real.frame.assign(near=near[pos]).groupby("category").apply(
        lambda g: g.loc[g["near"], "count"].sum() / g["count"].sum(), include_groups=False)
    assert share["stupefacenti"] > 3 * share["furti_abitazione"]
    assert share["furti_destrezza"] > 2 * share["furti_abitazione"]


def test_hotspots(real):
    hs = real.hotspots
    assert (hs["tipo"] == "persistente").sum() == 4
    assert (hs["tipo"] == "emergente").sum() == 2
    assert hs["cell"].isin(real.cells["cell"]).all()
    pos = real.places.index_of(hs["cell"].to_numpy())
    xy = np.column_stack([real.places.x[pos], real.places.y[pos]])
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    assert d[np.triu_indices(len(hs), 1)].min() >= inc.HOTSPOT_SEPARATION_M
    assert set(real.loc.loc[real.loc["nome"].isin(hs.loc[hs["tipo"] == "persistente", "nome"]), "tipo"]) <= set(
        inc.HOTSPOT_KINDS)
    assert inc.emerging_ramp(2019) == 0.0
    assert inc.emerging_ramp(2024) == 1.0


def test_same_stream_same_incidents(real):
    again = inc.generate_incidents(real.cells, real.loc, real.comuni, real.targets, rng=child_rng(1, "incidents"),
                                   hotspots=real.hotspots, places=real.places)
    pd.testing.assert_frame_equal(again, real.frame)
