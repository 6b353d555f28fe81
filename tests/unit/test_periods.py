"""Month labels and the period filter's options (geo.data.periods)."""

from __future__ import annotations

from datetime import date

from geo.data.periods import default_period, month_label, month_options


def test_month_label_is_italian():
    assert month_label(date(2024, 1, 31)) == "gen 2024"
    assert month_label(date(2023, 12, 1)) == "dic 2023"


def test_month_options_cross_the_year_and_ignore_days():
    months = month_options(date(2023, 11, 15), date(2024, 2, 3))
    assert months == [date(2023, 11, 1), date(2023, 12, 1), date(2024, 1, 1), date(2024, 2, 1)]
    assert month_options(date(2024, 5, 1), date(2024, 5, 31)) == [date(2024, 5, 1)]
    assert month_options(date(2024, 6, 1), date(2024, 5, 1)) == []


def test_default_period_is_the_saved_one_or_the_last_twelve_months():
    months = month_options(date(2022, 1, 1), date(2024, 12, 1))
    assert default_period(months) == (date(2024, 1, 1), date(2024, 12, 1))
    assert default_period(months, (date(2022, 3, 1), date(2022, 5, 1))) == (date(2022, 3, 1), date(2022, 5, 1))
    assert default_period(months, (date(2021, 3, 1), date(2022, 5, 1))) == (date(2024, 1, 1), date(2024, 12, 1))
    short = month_options(date(2024, 10, 1), date(2024, 12, 1))
    assert default_period(short) == (date(2024, 10, 1), date(2024, 12, 1))
