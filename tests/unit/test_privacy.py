"""Suppression of small incident counts (pact art. 3, Sistan threshold 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.access import privacy
from geo.access.privacy import COUNT_LABEL, DERIVED_LABEL, apply_suppression, can_see_exact, suppress_counts


@pytest.mark.parametrize(("role", "cleared"), [
    ("prefettura", True), ("forze_polizia", True), ("regione", False), ("comune", False),
    ("osservatore", False), ("sconosciuto", False), (None, False),
])
def test_only_prefettura_and_police_see_exact_counts(role, cleared):
    assert can_see_exact(role) is cleared


def test_small_counts_become_less_than_three_and_zero_stays():
    counts = pd.Series([0, 1, 2, 3, 1234], index=list("abcde"), name="delitti")
    shown = suppress_counts(counts, "osservatore")
    assert shown.tolist() == ["0", COUNT_LABEL, COUNT_LABEL, "3", "1.234"]
    assert shown.index.tolist() == list("abcde")
    assert COUNT_LABEL == "< 3"
    assert suppress_counts(counts, "forze_polizia").tolist() == ["0", "1", "2", "3", "1.234"]


def test_threshold_can_be_raised():
    shown = suppress_counts(pd.Series([3, 4, 5]), "comune", threshold=5)
    assert shown.tolist() == [COUNT_LABEL, COUNT_LABEL, "5"]


def test_mask_ignores_missing_values():
    mask = privacy.suppressed_mask([np.nan, None, 1, 0], "regione")
    assert mask.tolist() == [False, False, True, False]


@pytest.fixture
def cells() -> pd.DataFrame:
    # hexagon 0: 2 incidents (hidden); 1: 10 incidents of which 1 at night (night share reveals
    # the night count); 2: 10 of which 9 at night (reveals 1 by day); 3: 20 split 10/10; 4: none.
    return pd.DataFrame({
        "name": ["a", "b", "c", "d", "e"],
        "incidents": [2, 10, 10, 20, 0],
        "night": [1, 1, 9, 10, 0],
        "day": [1, 9, 1, 10, 0],
        "rate": [40.0, 12.5, 12.5, 25.0, 0.0],
        "night_share": [0.5, 0.1, 0.9, 0.5, np.nan],
    })


def test_derived_values_of_a_hidden_cell_are_hidden(cells):
    display, mask = apply_suppression(
        cells, ["incidents", "night", "day"], {"rate": ["incidents"], "night_share": ["night", "day"]},
        "osservatore", formats={"night_share": lambda v: privacy.format_percent(v)},
    )
    assert display.loc[0, "incidents"] == COUNT_LABEL
    assert display.loc[0, "rate"] == DERIVED_LABEL
    assert display.loc[0, "night_share"] == DERIVED_LABEL
    # A published total with a small night (or day) part: the share would reveal it.
    assert display.loc[1, "incidents"] == "10"
    assert display.loc[1, "night_share"] == DERIVED_LABEL
    assert display.loc[2, "night_share"] == DERIVED_LABEL
    assert display.loc[3, "night_share"] == "50 %"
    assert display.loc[3, "rate"] == "25,0"
    assert display.loc[4, "incidents"] == "0"
    assert display.loc[4, "night_share"] == "–"
    assert mask["incidents"].tolist() == [True, False, False, False, False]
    assert mask["night_share"].tolist() == [True, True, True, False, False]
    assert display["name"].tolist() == cells["name"].tolist()  # other columns untouched
    # The numbers never reach the display of hidden cells.
    assert "2" not in display.loc[0, ["incidents", "rate", "night_share"]].tolist()


def test_cleared_roles_see_everything(cells):
    display, mask = apply_suppression(cells, ["incidents", "night", "day"], ["rate"], "forze_polizia")
    assert not mask.to_numpy().any()
    assert display.loc[0, "incidents"] == "2"
    assert display.loc[0, "rate"] == "40,0"


def test_sequence_of_derived_columns_depends_on_every_count(cells):
    _, mask = apply_suppression(cells, ["incidents", "night"], ["rate"], "comune")
    assert mask["rate"].tolist() == [True, True, False, False, False]


def test_undeclared_count_column_is_an_error(cells):
    with pytest.raises(ValueError, match="non dichiarate"):
        apply_suppression(cells, ["incidents"], {"rate": ["residents"]}, "comune")


def test_italian_number_formats():
    assert privacy.format_int(1234567) == "1.234.567"
    assert privacy.format_decimal(1234.567, 2) == "1.234,57"
    assert privacy.format_percent(0.256) == "26 %"
    assert privacy.format_percent(None) == privacy.MISSING_LABEL
    assert privacy.format_int(np.nan) == privacy.MISSING_LABEL
