"""Legend classes: quantiles, natural breaks, zeros, ties, missing and hidden values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from branca.utilities import color_brewer

from geo.maps.classes import HIDDEN, HIDDEN_COLOR, NO_DATA, NO_DATA_COLOR, ZERO_COLOR, classify


def test_zero_is_a_class_of_its_own_and_quantiles_split_the_rest():
    values = pd.Series([0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], index=range(100, 113))
    c = classify(values, scheme="quantiles", k=3)
    assert c.labels == ("0", "1 – 5", "6 – 10")
    assert c.classes.index.tolist() == values.index.tolist()
    assert c.classes.tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]
    assert c.counts == (3, 5, 5)
    assert c.colors[0] == ZERO_COLOR
    assert list(c.colors[1:]) == color_brewer("YlOrRd", 3)[-2:]


def test_every_row_falls_in_the_class_whose_labels_bound_it():
    values = pd.Series(np.random.default_rng(7).gamma(0.7, 6, 800).round())
    c = classify(values, scheme="quantiles", k=5)
    for code, label in enumerate(c.labels):
        members = values[c.classes == code]
        bounds = [float(x) for x in label.replace(".", "").split(" – ")]
        assert members.min() == bounds[0]
        assert members.max() == bounds[-1]
    assert len(c.labels) == len(c.colors) == len(c.counts) == len(c.bins)
    assert sum(c.counts) == len(values)


def test_all_zeros_give_a_single_class():
    c = classify(pd.Series([0, 0, 0]))
    assert c.labels == ("0",)
    assert c.classes.tolist() == [0, 0, 0]


def test_all_missing_gives_no_class():
    c = classify(pd.Series([np.nan, np.nan]))
    assert c.labels == ()
    assert c.colors == ()
    assert c.classes.tolist() == [NO_DATA, NO_DATA]
    assert c.color_of(NO_DATA) == NO_DATA_COLOR


def test_few_distinct_values_get_one_class_each():
    c = classify(pd.Series([2, 2, 5, 5, 5, 9]), scheme="natural_breaks", k=5)
    assert c.labels == ("2", "5", "9")
    assert c.classes.tolist() == [0, 0, 1, 1, 1, 2]


def test_ties_never_leave_empty_classes():
    c = classify(pd.Series([1] * 50 + [2, 3, 40]), scheme="quantiles", k=5)
    assert all(n > 0 for n in c.counts)


def test_hidden_values_take_no_part_in_the_breaks():
    values = pd.Series([1, 2, 3, 4, 50, 60, 70, 80])
    hidden = values < 3
    c = classify(values, k=3, hidden=hidden)
    assert c.classes[hidden].eq(HIDDEN).all()
    assert c.color_of(HIDDEN) == HIDDEN_COLOR
    assert not any(label.startswith(("1", "2 ")) for label in c.labels)
    assert c.labels[0].startswith("3")


def test_natural_breaks_separate_obvious_groups_and_are_deterministic():
    values = pd.Series([1, 2, 2, 3, 20, 21, 22, 100, 101] * 100)
    first = classify(values, scheme="natural_breaks", k=3)
    assert first.labels == ("1 – 3", "20 – 22", "100 – 101")
    again = classify(values, scheme="natural_breaks", k=3)
    assert again.bins == first.bins


def test_non_counts_get_decimals_and_the_neutral_ramp():
    c = classify(pd.Series([0.12, 0.5, 0.75, 1.5]), k=4, higher_is_worse=False)
    assert c.labels[0] == "0,12"
    assert list(c.colors) == color_brewer("YlGnBu", 4)


def test_unknown_scheme_and_bad_k_are_errors():
    with pytest.raises(ValueError, match="sconosciuto"):
        classify(pd.Series(range(20)), scheme="equal_interval")
    with pytest.raises(ValueError, match="tra 2 e 9"):
        classify(pd.Series(range(20)), k=1)
