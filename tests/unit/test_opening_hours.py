"""The OSM ``opening_hours`` subset of :mod:`geo.services.opening_hours`, checked minute by minute."""

from __future__ import annotations

import numpy as np
import pytest

from geo.services.opening_hours import (
    MINUTES_PER_WEEK,
    OpeningHoursError,
    check_opening_hours,
    open_matrix,
    parse_opening_hours,
)

MO, TU, WE, TH, FR, SA, SU = range(7)


def week(text: str, month: int = 1) -> np.ndarray:
    return parse_opening_hours(text).minutes(month=month)


def hm(h: int, m: int = 0) -> int:
    return h * 60 + m


def open_spans(day_row: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) minute spans where a day's row is open."""
    padded = np.concatenate([[False], day_row, [False]]).astype(int)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def test_day_range_and_single_time_range():
    w = week("Mo-Fr 09:00-12:00")
    assert w.shape == (7, 1440)
    for d in (MO, TU, WE, TH, FR):
        assert open_spans(w[d]) == [(hm(9), hm(12))]
    assert not w[SA].any()
    assert not w[SU].any()
    assert w.sum() == 5 * 180


def test_day_list_and_several_time_ranges():
    w = week("Mo,We,Fr 09:00-12:00,15:00-18:30")
    assert open_spans(w[WE]) == [(hm(9), hm(12)), (hm(15), hm(18, 30))]
    assert not w[TU].any()
    assert not w[TH].any()
    assert parse_opening_hours("Mo-We,Fr 10:00-11:00").weekly_minutes(month=1) == 4 * 60


def test_wrapping_day_range():
    w = week("Fr-Mo 10:00-11:00")
    assert [bool(w[d].any()) for d in range(7)] == [True, False, False, False, True, True, True]


def test_overnight_range_spills_into_the_next_day():
    w = week("Sa 22:00-02:00")
    assert open_spans(w[SA]) == [(hm(22), 1440)]
    assert open_spans(w[SU]) == [(0, hm(2))]
    assert not w[MO].any()
    # Sunday night spills into Monday morning (a typical week wraps).
    w = week("Su 22:00-02:00")
    assert open_spans(w[MO]) == [(0, hm(2))]
    w = week("Mo-Su 19:30-08:00")
    for d in range(7):
        assert open_spans(w[d]) == [(0, hm(8)), (hm(19, 30), 1440)]
    assert w.sum() == 7 * (480 + 270)


def test_always_and_never():
    assert week("24/7").all()
    assert parse_opening_hours("24/7").always_open(month=5)
    assert not week("off").any()
    assert not week("closed").any()
    assert week("Mo-Fr").sum() == 5 * 1440  # a day selector alone: open all day


def test_normal_rule_overrides_the_days_it_selects():
    oh = parse_opening_hours("Mo-Fr 09:00-12:00; Tu,Th 15:00-18:00")
    w = oh.minutes(month=1)
    assert open_spans(w[TU]) == [(hm(15), hm(18))]  # the morning is replaced, as in OSM
    assert open_spans(w[MO]) == [(hm(9), hm(12))]
    assert len(oh.notes) == 1
    assert "mar, gio" in oh.notes[0]
    w = week("Mo-Fr 08:00-18:00; We off")
    assert not w[WE].any()
    assert w[TH].sum() == 600


def test_additional_rule_adds_or_closes_without_resetting():
    oh = parse_opening_hours("Mo-Fr 09:00-12:00, Tu,Th 15:00-18:00")
    w = oh.minutes(month=1)
    assert open_spans(w[TU]) == [(hm(9), hm(12)), (hm(15), hm(18))]
    assert oh.notes == ()
    w = week("Mo-Fr 08:00-18:00, We 12:00-13:00 off")
    assert open_spans(w[WE]) == [(hm(8), hm(12)), (hm(13), hm(18))]


def test_month_selector_is_in_force_only_in_its_months():
    text = "Dec-Mar Mo-Su 20:00-08:00"
    assert week(text, month=1).sum() == 7 * 720
    assert week(text, month=12).sum() == 7 * 720
    assert week(text, month=3).any()
    assert not week(text, month=4).any()
    assert not week(text, month=6).any()
    both = "Mo-Fr 09:00-12:00; Jul,Aug off"
    assert week(both, month=7).sum() == 0
    assert week(both, month=9).sum() == 900


def test_holiday_rules_are_ignored_in_a_typical_week():
    oh = parse_opening_hours("Mo-Sa 08:00-13:00; PH off")
    assert oh.weekly_minutes(month=1) == 6 * 300
    assert any("festivi" in n for n in oh.notes)
    assert week("Su,PH 10:00-12:00")[SU].sum() == 120


def test_comments_and_colon_after_selector():
    assert week('Mo-Fr: 09:00-12:00 "su appuntamento"').sum() == 5 * 180


def test_hour_and_half_hour_matrices():
    m = open_matrix("Mo-Sa 11:45-13:30", month=1)
    assert m.shape == (7, 24)
    assert m[MO, 11] == pytest.approx(0.25)
    assert m[MO, 12] == pytest.approx(1.0)
    assert m[MO, 13] == pytest.approx(0.5)
    assert m[MO, 14] == 0
    assert m[SU].sum() == 0
    half = open_matrix("Mo-Sa 11:45-13:30", month=1, slot_minutes=30)
    assert half.shape == (7, 48)
    assert half[SA, 23] == pytest.approx(0.5)  # 11:30-12:00
    assert half[SA, 24] == 1.0
    assert half[SA, 27] == 0.0
    assert open_matrix("24/7", month=2).sum() * 60 == MINUTES_PER_WEEK
    with pytest.raises(ValueError, match="dividere 1440"):
        open_matrix("24/7", month=2, slot_minutes=7)


def test_end_of_day_and_extended_times():
    assert open_spans(week("Mo 18:00-24:00")[MO]) == [(hm(18), 1440)]
    w = week("Fr 20:00-26:00")
    assert open_spans(w[SA]) == [(0, hm(2))]


@pytest.mark.parametrize("text", [
    "", "   ", "Lu-Ve 09:00-12:00", "Mo-Fr 09:00", "Mo-Fr 25:00-26:00", "Mo-Fr 09:60-10:00", "Mo-Fr 18:00+",
    "Mo[1] 10:00-12:00", "Dec 24 off", "sunrise-sunset", "Mo-Fr 10:00-12:00 || PH off", "Mo-Fr 10:00-12:00 Sa",
    "Mo-Fr 08:00-09:00-10:00", "Mo- 10:00-12:00", "Mo-Fr 10:00-12:00 Sa 10:00-11:00", "Mo-Fr 00:00-30:00",
])
def test_malformed_or_unsupported_strings_raise_an_italian_error(text):
    with pytest.raises(OpeningHoursError):
        parse_opening_hours(text)
    assert check_opening_hours(text)


def test_demo_hours_all_parse():
    from geo.demo.synth.services import SERVICE_PLAN

    for item in SERVICE_PLAN:
        assert check_opening_hours(item["hours"]) is None, item["hours"]


def test_invalid_month():
    with pytest.raises(ValueError, match="mese non valido: 13"):
        week("24/7", month=13)
