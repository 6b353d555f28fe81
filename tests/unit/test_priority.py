"""Composite priority: presets, weight handling, contributions, Monte-Carlo weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.zones import priority
from geo.zones.indicators import INDICATOR_KEYS


@pytest.fixture
def scores() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    s = pd.DataFrame(rng.random((50, len(INDICATOR_KEYS))), columns=list(INDICATOR_KEYS))
    s.iloc[:10] = 0.0  # hexagons with no signal at all
    return s


def test_presets_cover_every_indicator_and_differ():
    assert set(priority.PRESETS) == {"sicurezza", "decoro", "inclusione", "bilanciato"}
    vectors = []
    for key, preset in priority.PRESETS.items():
        assert set(preset.weights) == set(INDICATOR_KEYS), key
        w = priority.preset_weights(key)
        assert w.sum() == pytest.approx(1.0)
        assert (w >= 0).all()
        vectors.append(tuple(w.round(6)))
    assert len(set(vectors)) == len(vectors)
    assert priority.preset_weights("sicurezza")["harm_rate"] > priority.preset_weights("inclusione")["harm_rate"]
    assert priority.preset_weights("inclusione")["homeless"] > priority.preset_weights("sicurezza")["homeless"]
    with pytest.raises(KeyError, match="Profili validi"):
        priority.preset_weights("nessuno")


def test_contributions_add_up_to_the_priority(scores):
    for key in priority.PRESETS:
        contrib = priority.contributions(scores, priority.PRESETS[key].weights)
        total = priority.priority_scores(scores, priority.PRESETS[key].weights)
        np.testing.assert_allclose(contrib.sum(axis=1), total, rtol=1e-12)
        assert total.between(0, 100).all()
        assert (total.iloc[:10] == 0).all()
    ones = pd.DataFrame(np.ones((1, len(INDICATOR_KEYS))), columns=list(INDICATOR_KEYS))
    assert priority.priority_scores(ones, {"reports": 3}).iloc[0] == pytest.approx(100)


def test_weights_are_relative(scores):
    a = priority.priority_scores(scores, {"harm_rate": 1, "reports": 3})
    b = priority.priority_scores(scores, {"harm_rate": 10, "reports": 30})
    np.testing.assert_allclose(a, b)
    expected = 100 * (0.25 * scores["harm_rate"] + 0.75 * scores["reports"])
    np.testing.assert_allclose(a, expected)


@pytest.mark.parametrize(("weights", "message"), [
    ({"harm_rate": -1, "reports": 2}, "non negativi"),
    ({"harm_rate": float("nan")}, "non negativi"),
    (dict.fromkeys(INDICATOR_KEYS, 0), "Almeno un peso"),
    ({"unknown": 1}, "Indicatori sconosciuti: unknown"),
])
def test_invalid_weights_are_refused_in_italian(weights, message):
    with pytest.raises(ValueError, match=message):
        priority.normalise_weights(weights)


def test_parse_weights():
    assert priority.parse_weights("harm_rate=2, reports = 1.5,schools=0") == {
        "harm_rate": 2.0, "reports": 1.5, "schools": 0.0}
    assert priority.parse_weights("harm_rate=2; reports=1,5") == {"harm_rate": 2.0, "reports": 1.5}
    with pytest.raises(ValueError, match="indicatore=valore"):
        priority.parse_weights("harm_rate")
    with pytest.raises(ValueError, match="non numerico"):
        priority.parse_weights("harm_rate=molto")


def test_top_drivers_and_text():
    contrib = pd.Series(dict.fromkeys(INDICATOR_KEYS, 0.0) | {"reports": 12.34, "night_share": 8.0, "schools": 8.0,
                                                              "population": 1.0})
    assert priority.top_drivers(contrib) == [("reports", 12.34), ("night_share", 8.0), ("schools", 8.0)]
    assert priority.top_drivers(pd.Series(dict.fromkeys(INDICATOR_KEYS, 0.0))) == []
    assert priority.drivers_text(contrib, 2) == "Degrado 12,3 · Notte 8,0"


def test_perturbed_weights_stay_within_the_spread():
    base = priority.preset_weights("sicurezza")
    draws = priority.perturbed_weights(base, draws=500, spread=0.2, seed=11)
    assert draws.shape == (500, len(INDICATOR_KEYS))
    np.testing.assert_allclose(draws.sum(axis=1), 1.0)
    zero = (base == 0).to_numpy()
    assert (draws[:, zero] == 0).all()
    ratio = draws[:, ~zero] / base.to_numpy()[~zero]
    assert ratio.min() >= 0.8 / 1.2 - 1e-12
    assert ratio.max() <= 1.2 / 0.8 + 1e-12
    assert ratio.min() < 0.9
    assert ratio.max() > 1.1
    again = priority.perturbed_weights(base, draws=500, spread=0.2, seed=11)
    np.testing.assert_array_equal(draws, again)
    assert not np.array_equal(draws, priority.perturbed_weights(base, draws=500, spread=0.2, seed=12))
    np.testing.assert_allclose(priority.perturbed_weights(base, draws=3, spread=0.0), np.tile(base, (3, 1)))
