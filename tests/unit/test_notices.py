"""Italian notices and filter labels (geo.access.notices, geo.data.filter_form)."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.access import notices
from geo.data import filter_form as form
from geo.data import hexgrid
from geo.data.filters import Filters


def test_pact_label_cites_the_article_only_when_numbered():
    assert notices.pact_label({"dati_anonimi": "3"}, "dati_anonimi") == "Patto, art. 3"
    assert notices.pact_label({}, "dati_anonimi") == "Patto"
    assert notices.pact_label(None, "zone_pilota") == "Patto"


@pytest.mark.parametrize("role", ["prefettura", "forze_polizia"])
def test_cleared_roles_get_no_protection_note(role):
    assert "chiave di cella" not in notices.role_caption(role, {"dati_anonimi": "3"})


def test_other_roles_are_told_counts_are_protected():
    text = notices.role_caption("comune", {"dati_anonimi": "3"})
    assert text.startswith("Profilo: **Comune**")
    assert "(art. 3 del Patto)" in text
    assert "(Patto)" in notices.role_caption("osservatore", {})
    assert "chiave di cella" in notices.role_caption(None, {})  # nobody: not cleared


def test_resolution_labels():
    assert notices.resolution_label("auto", 8) == f"Automatica (8, ≈ {hexgrid.cell_area_km2(8):.2f} km²)"
    assert notices.resolution_label(9, 8).startswith("9 (≈ ")
    assert "per esagono" in notices.resolution_label(9, 8)


def test_filter_form_bands_and_filters():
    assert form.band_label("tutte") == "Giorno e notte"
    assert form.band_index(None) == 0
    band = form.BAND_OPTIONS[1]
    assert form.band_index(Filters(time_band=band)) == 1
    made = form.make_filters(chosen=["045010"], period=(None, None), categories=["furti"], band="tutte",
                             res_choice="auto", auto=9)
    assert made == Filters(res=9, comuni=("045010",), categories=("furti",), time_band=None)
    assert form.make_filters(chosen=[], period=(None, None), categories=[], band=band, res_choice=7,
                             auto=9) == Filters(res=7, time_band=band)


def test_auto_resolution_follows_the_chosen_area():
    comuni = pd.DataFrame({"pro_com_t": ["a", "b"], "area_km2": [2.0, 1000.0]})
    assert form.auto_resolution(comuni, []) == hexgrid.suggest_resolution(1002.0)
    assert form.auto_resolution(comuni, ["a"]) == hexgrid.suggest_resolution(2.0)
