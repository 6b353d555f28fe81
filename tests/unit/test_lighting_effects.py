"""Effect sizes, intervention weights and energy arithmetic of the lighting planner, checked
against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo.data.schemas import INCIDENT_CATEGORIES
from geo.lighting.costs import DEFAULT_LAMP_POWER_W, CostParams, EnergyParams, lamp_power_w, payback_years
from geo.lighting.effects import (
    FAMILIES,
    FAMILY_BY_KEY,
    FAMILY_OF_CATEGORY,
    STUDIES,
    STUDY_BY_KEY,
    EffectModel,
    effect_shares,
    prevented,
    repair_weight,
)
from geo.lighting.report import effect_sentence, family_table, parameters_table

EVIDENCE = ("furti", "rapine", "violenze")
OUTSIDE = ("danneggiamenti", "stupefacenti", "altro")


def test_default_effects_per_family_are_the_evidence():
    model = EffectModel()
    r = model.range
    # Welsh & Farrington 2008: 21 % (property); Welsh, Farrington & Douglas 2022: 14 % total, violence not
    # significant; Chalfin et al. 2022: at least 36 % of night-time outdoor index crimes.
    assert r["furti"] == (0.0, 0.21, 0.36)
    assert r["rapine"] == r["violenze"] == (0.0, 0.14, 0.36)
    # the low end includes no effect (Steinbach et al. 2015) for every family
    assert all(low == 0.0 for low, _, _ in r.values())
    # families outside what the studies measured get none by default
    for key in OUTSIDE:
        assert r[key] == (0.0, 0.0, 0.0)
        assert not FAMILY_BY_KEY[key].in_evidence
    assert model.counted() == list(EVIDENCE)
    assert "Painter & Farrington" in model.SOURCES["diffusion"]


def test_families_cover_every_category_once():
    assert sorted(FAMILY_OF_CATEGORY) == sorted(INCIDENT_CATEGORIES)
    assert sum(len(f.categories) for f in FAMILIES) == len(INCIDENT_CATEGORIES)
    assert FAMILY_OF_CATEGORY["furti_veicoli"] == "furti"
    assert FAMILY_OF_CATEGORY["lesioni_minacce"] == "violenze"
    assert FAMILY_OF_CATEGORY["danneggiamenti"] == "danneggiamenti"
    assert FAMILY_OF_CATEGORY["truffe_frodi"] == "altro"


def test_every_family_cites_its_evidence():
    for key in EVIDENCE:
        fam = FAMILY_BY_KEY[key]
        assert {"chalfin_2022", "steinbach_2015"} <= set(fam.studies), key
        assert "Chalfin" in fam.source
        assert "Steinbach" in fam.source
        assert "36%" in fam.source
        assert all(s in STUDY_BY_KEY for s in fam.studies)
    assert "21%" in FAMILY_BY_KEY["furti"].source
    assert "Welsh & Farrington 2008" in FAMILY_BY_KEY["furti"].source
    for key in ("rapine", "violenze"):
        assert "14%" in FAMILY_BY_KEY[key].source
        assert "non significativ" in FAMILY_BY_KEY[key].source
    for key in OUTSIDE:
        assert FAMILY_BY_KEY[key].studies == ()
        assert "effetto 0" in FAMILY_BY_KEY[key].source
    # the parameter sheet and the family table show each family's values with its citation
    params = parameters_table(CostParams(), EnergyParams(), EffectModel())
    fam_rows = params[params["Gruppo"] == "Effetti per famiglia di reato"]
    assert len(fam_rows) == len(FAMILIES)
    furti = fam_rows[fam_rows["Parametro"].str.startswith("Furti")].iloc[0]
    assert furti["Valore"] == "0 % / 21 % / 36 %"
    assert "Chalfin" in furti["Fonte"]
    table = family_table(EffectModel(families=(("danneggiamenti", 0.0, 0.1, 0.2),)))
    row = table.set_index("Famiglia").loc[FAMILY_BY_KEY["danneggiamenti"].label]
    assert row["Conta nel piano"] == "sì"
    assert row["Fonte"].startswith("Valore modificato")


def test_uniform_override_applies_to_the_families_in_evidence_only():
    model = EffectModel(central=0.2)
    assert all(model.effect(k)[1] == 0.2 for k in EVIDENCE)
    assert all(model.effect(k) == (0.0, 0.0, 0.0) for k in OUTSIDE)
    assert EffectModel(*model.key()) == model  # the cache key rebuilds the model


def test_every_study_is_cited_in_full():
    assert {s.key for s in STUDIES} == {"welsh_farrington_2008", "welsh_farrington_douglas_2022", "chalfin_2022",
                                        "painter_farrington_1999", "steinbach_2015"}
    assert "Criminology & Public Policy 21(3)" in STUDY_BY_KEY["welsh_farrington_douglas_2022"].citation
    assert "14%" in STUDY_BY_KEY["welsh_farrington_douglas_2022"].finding
    assert "Campbell Systematic Reviews 2008:13" in STUDY_BY_KEY["welsh_farrington_2008"].citation
    assert "13 valutazioni" in STUDY_BY_KEY["welsh_farrington_2008"].finding
    assert "Journal of Quantitative Criminology 38(1)" in STUDY_BY_KEY["chalfin_2022"].citation
    assert "Stoke-on-Trent" in STUDY_BY_KEY["painter_farrington_1999"].citation
    assert "J Epidemiol Community Health" in STUDY_BY_KEY["steinbach_2015"].citation
    for s in STUDIES:
        assert s.finding
        assert s.use
        assert s.short


@pytest.mark.parametrize("kwargs", [{"low": 0.3, "central": 0.2}, {"high": 1.5}, {"led": -0.1},
                                    {"central": 0.4, "high": 0.3}, {"families": (("furti", 0.3, 0.2, 0.4),)},
                                    {"families": (("rapine", 0.0, 0.1, 1.2),)},
                                    {"families": (("ignota", 0.0, 0.1, 0.2),)}])
def test_invalid_effects_are_refused_in_italian(kwargs):
    with pytest.raises(ValueError, match=r"ffett|tra 0 e 1|basso|sconosciute"):
        EffectModel(**kwargs)


def test_repair_weight_depends_on_under_lighting():
    assert repair_weight(np.array([True, False]), EffectModel(repair_lit=0.4)).tolist() == [1.0, 0.4]


def test_worked_example_effect_shares_and_prevented_incidents():
    # One under-lit hexagon (C of tests/unit/lighting_store.py): 10 points, 1 modern broken, 4 old
    # (1 broken), 32 new points bring it to D = 42 points; 24 night-time outdoor incidents a year.
    shares = effect_shares(
        repaired=np.array([1]), replaced_working=np.array([3]), replaced_broken=np.array([1]),
        new_points=np.array([32]), points_after=np.array([42]), under_lit=np.array([True]), model=EffectModel(),
    )
    # repair: 1 point x weight 1 (under-lit) / 42
    assert shares["repair"][0] == pytest.approx(1 / 42)
    # LED: (1 broken old x 1 + 3 working old x 0.25) / 42 = 1.75 / 42
    assert shares["led"][0] == pytest.approx(1.75 / 42)
    # new: 32 / 42
    assert shares["new"][0] == pytest.approx(32 / 42)
    # all three together: (1 + 1.75 + 32) / 42 = 34.75 / 42 < 1
    assert sum(v[0] for v in shares.values()) == pytest.approx(34.75 / 42)
    # 24 incidents a year: 12 thefts, 4 assaults, 8 damages; 1.75 / 42 x 24 = 1.0 exposed incident
    low, central, high = prevented(shares["led"], {"furti": 12.0, "violenze": 4.0, "danneggiamenti": 8.0},
                                   EffectModel())
    # thefts 0.5 x (0, 0.21, 0.36) + assaults 1/6 x (0, 0.14, 0.36) + damages: nothing
    assert (low[0], central[0], high[0]) == pytest.approx((0.0, 0.5 * 0.21 + 0.14 / 6, 0.5 * 0.36 + 0.36 / 6))


def test_a_family_without_evidence_prevents_nothing_unless_the_planner_says_so():
    share = np.array([0.5])
    only_damage = {"danneggiamenti": np.array([100.0])}
    assert all(v[0] == 0.0 for v in prevented(share, only_damage, EffectModel()))
    changed = EffectModel(families=(("danneggiamenti", 0.0, 0.1, 0.2),))
    assert [v[0] for v in prevented(share, only_damage, changed)] == pytest.approx([0.0, 5.0, 10.0])


def test_worked_example_not_under_lit_and_diffusion():
    # Hexagon A: 70 points, 2 modern broken, not under-lit: weight 0.5 per repaired point.
    shares = effect_shares(repaired=np.array([2]), replaced_working=np.array([0]), replaced_broken=np.array([0]),
                           new_points=np.array([0]), points_after=np.array([70]), under_lit=np.array([False]),
                           model=EffectModel())
    assert shares["repair"][0] == pytest.approx(2 * 0.5 / 70)
    # 12 incidents a year in the hexagon, 18 in its six neighbours, diffusion 0.5:
    # exposed = 12 + 0.5 x 18 / 6 = 13.5; central = (1 / 70) x 13.5 x 0.21 = 0.0405
    model = EffectModel(diffusion=0.5)
    _, central, _ = prevented(shares["repair"], {"furti": 12 + model.diffusion * 18 / 6}, model)
    assert central[0] == pytest.approx(13.5 * 0.21 / 70)


def test_shares_never_exceed_the_full_effect():
    rng = np.random.default_rng(7)
    lights = rng.integers(0, 60, 500)
    broken = rng.integers(0, 1 + lights)
    old = rng.integers(0, 1 + lights)
    old_broken = np.minimum(old, broken)
    modern_broken = broken - old_broken
    new = rng.integers(0, 40, 500)
    model = EffectModel(repair_lit=1.0, led=1.0)
    shares = effect_shares(repaired=modern_broken, replaced_working=old - old_broken, replaced_broken=old_broken,
                           new_points=new, points_after=np.maximum(lights + new, 1), under_lit=rng.random(500) < 0.5,
                           model=model)
    total = shares["repair"] + shares["led"] + shares["new"]
    assert np.all(total <= 1 + 1e-12)
    assert np.all(total >= 0)


def test_worked_example_energy_of_an_led_replacement():
    energy = EnergyParams()
    # 4 mercury lamps of 125 W = 500 W; LED at 45 % of the power saves 55 %: 275 W
    # 275 W x 4,200 h = 1,155 kWh/year; x 0.25 €/kWh = 288.75 €/year; x 0.26 kg = 300.3 kg CO2/year
    kwh = energy.kwh_per_year(500.0) * (1 - energy.led_power_ratio)
    assert kwh == pytest.approx(1155.0)
    assert energy.eur(kwh) == pytest.approx(288.75)
    assert energy.kg_co2(kwh) == pytest.approx(300.3)
    # 4 replacements x 600 € = 2,400 €; simple payback 2,400 / 288.75 = 8.31 years
    cost = 4 * CostParams().led_eur
    assert payback_years(cost, energy.eur(kwh)) == pytest.approx(2400 / 288.75)
    assert math.isinf(payback_years(cost, 0.0))


def test_parameters_have_sources_and_are_validated():
    for params in (CostParams(), EnergyParams(), EffectModel()):
        for name in params.LABELS:
            assert params.SOURCES[name].strip(), name
    assert "prezzario" in CostParams.SOURCES["repair_eur"].lower()
    assert "ISPRA" in EnergyParams.SOURCES["kg_co2_per_kwh"]
    assert "4.200" in EnergyParams.SOURCES["hours_per_year"]
    with pytest.raises(ValueError, match="non negativo"):
        CostParams(repair_eur=-1)
    with pytest.raises(ValueError, match="LED"):
        EnergyParams(led_power_ratio=1.5)


def test_missing_lamp_power_uses_the_technology_default():
    power = lamp_power_w(pd.Series(["mercurio", "led", "sconosciuta"]), pd.Series([None, 0.0, float("nan")]))
    assert power.tolist() == [DEFAULT_LAMP_POWER_W["mercurio"], DEFAULT_LAMP_POWER_W["led"],
                              DEFAULT_LAMP_POWER_W["altro"]]
    assert lamp_power_w(pd.Series(["led"]), pd.Series([55.0])).tolist() == [55.0]


def test_the_central_value_is_never_shown_without_its_range():
    text = effect_sentence({"prevented_low": 1.0, "prevented_central": 2.1, "prevented_high": 3.6})
    assert "2,1" in text
    assert "1,0" in text
    assert "3,6" in text
    assert "intervallo" in text
