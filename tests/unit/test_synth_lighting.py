"""Lighting generator: size, technology mix, failures, under-lit outskirts, PELL-IP fields."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from geo import config
from geo.data.schemas import LAMP_TECHNOLOGIES, LIGHT_STATUS
from geo.demo.synth import child_rng
from geo.demo.synth import lighting as lit


@pytest.fixture(scope="module")
def real(mc_places):
    cells, loc, comuni, places = mc_places.cells, mc_places.loc, mc_places.comuni, mc_places.places
    frame = lit.generate_lighting(cells, loc, comuni, rng=child_rng(1, "lighting"), places=places)
    frame["r"] = places.peripherality[places.index_of(frame["cell"].to_numpy())]
    return SimpleNamespace(cells=cells, loc=loc, comuni=comuni, places=places, frame=frame)


def test_size_like_a_real_inventory(real):
    residents = real.cells["residents"].sum()
    per_light = residents / len(real.frame)
    assert 6 <= per_light <= 10
    assert per_light == pytest.approx(lit.RESIDENTS_PER_LIGHT, rel=0.01)
    # every comune is lit; scattered mountain comuni have more lights per resident than towns
    per_comune = real.frame.groupby("pro_com_t").size()
    pop = real.comuni.set_index("pro_com_t")["residenti"]
    ratio = pop / per_comune.reindex(pop.index)
    assert ratio.between(2, 15).all()
    assert np.corrcoef(np.log(pop), ratio)[0, 1] > 0.5


def test_lights_follow_settled_cells(real):
    settled = set(real.cells.loc[real.cells["residents"] > 0, "cell"])
    assert real.frame["cell"].isin(settled).all()
    target = lit.lighting_target(real.cells["residents"])
    assert target.sum() == pytest.approx(real.cells["residents"].sum() / lit.RESIDENTS_PER_LIGHT)
    r = real.cells["residents"].to_numpy()
    dense, sparse = np.argmax(r), np.flatnonzero(r > 0)[np.argmin(r[r > 0])]
    # residents ** 0.7: a cell with N times the residents gets fewer than N times the lights
    assert target[dense] / target[sparse] < r[dense] / r[sparse]


def test_technology_mix(real):
    share = real.frame["technology"].value_counts(normalize=True)
    assert set(share.index) <= set(LAMP_TECHNOLOGIES)
    assert share["led"] == pytest.approx(0.45, abs=0.03)
    assert share["sodio_alta_pressione"] == pytest.approx(0.40, abs=0.03)
    assert share["mercurio"] == pytest.approx(0.05, abs=0.015)
    assert share["ioduri_metallici"] == pytest.approx(0.07, abs=0.02)
    centre = real.frame[real.frame["r"] < 0.35]
    outskirts = real.frame[real.frame["r"] >= 0.65]
    assert (centre["technology"] == "led").mean() > 1.5 * (outskirts["technology"] == "led").mean()
    assert (outskirts["technology"] == "mercurio").mean() > 2 * (centre["technology"] == "mercurio").mean()


def test_broken_share(real):
    broken = real.frame["status"] == "guasto"
    assert set(real.frame["status"]) <= set(LIGHT_STATUS)
    assert 0.04 <= broken.mean() <= 0.07
    assert broken[real.frame["r"] >= 0.65].mean() > 1.3 * broken[real.frame["r"] < 0.35].mean()


def test_under_lit_outskirts_exist(real):
    """Settled outskirts (at resolution 9, with a target of at least 10 lights) lit below half
    their target exist; in the centres they do not."""
    places = real.places
    df = pd.DataFrame({
        "r9": real.cells["r9"].to_numpy(), "target": lit.lighting_target(places.residents),
        "lights": real.frame.groupby("cell").size().reindex(places.cells, fill_value=0).to_numpy(),
        "r": places.peripherality, "settled": places.residents > 0,
    })
    g = df[df["settled"]].groupby("r9").agg(target=("target", "sum"), lights=("lights", "sum"), r=("r", "mean"))
    g = g[g["target"] >= 10]
    dark = g["lights"] / g["target"] < 0.5
    outskirts = g["r"] >= lit.OUTSKIRTS_MIN_PERIPHERALITY
    centre = g["r"] < 0.35
    assert (dark & outskirts).sum() >= 5
    assert dark[centre].mean() <= 0.02


def test_underlit_patches(real):
    target = lit.lighting_target(real.places.residents)
    pos, factor, patch = lit.underlit_patches(real.places, target, np.random.default_rng(3))
    n = len(np.unique(patch))
    assert n == round(real.places.residents.sum() / lit.RESIDENTS_PER_UNDERLIT_PATCH)
    assert ((factor >= lit.UNDERLIT_FACTOR[0]) & (factor <= lit.UNDERLIT_FACTOR[1])).all()
    assert (real.places.peripherality[pos] >= lit.OUTSKIRTS_MIN_PERIPHERALITY).all()
    assert (real.places.residents[pos] > 0).all()
    assert len(np.unique(pos)) == pos.size


def test_pell_fields_are_consistent(real):
    f = real.frame
    assert list(f.columns[:-1]) == lit.LIGHTING_COLUMNS
    assert f["pl_id"].is_unique
    assert f["pl_id"].str.fullmatch(r"PL-\d{6}-\d{6}").all()
    assert (f["pl_id"].str[3:9] == f["pro_com_t"]).all()
    for tech, (values, _) in lit.POWER_W.items():
        sel = f["technology"] == tech
        assert f.loc[sel, "power_w"].isin(values).all(), tech
        first, _, last = lit.INSTALL_YEARS[tech]
        assert f.loc[sel, "year"].between(first, last).all(), tech
    led = f[f["technology"] == "led"]
    assert led["power_w"].between(30, 90).all()
    assert (led["year"] >= 2012).all()
    assert (f.loc[f["technology"] == "mercurio", "year"] <= 2015).all()
    assert f["height_m"].between(4, 12).all()
    assert set(f["fixture"]) <= set(lit.FIXTURE_CENTRE)
    assert f["synthetic"].all()
    assert f["import_id"].isna().all()


def test_other_residents_per_light(real):
    f = lit.generate_lighting(real.cells, real.loc, real.comuni, rng=child_rng(1, "lighting"),
                              residents_per_light=10, places=real.places)
    assert real.cells["residents"].sum() / len(f) == pytest.approx(10, rel=0.01)
    assert config.STORE_RES == 10
