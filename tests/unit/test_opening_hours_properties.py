"""Property-based tests (hypothesis) of the ``opening_hours`` parser (geo.services.opening_hours):
generated rules give the open minutes a reference model gives, past-midnight ranges spill into
the next day, a normal rule replaces earlier ones, ``off`` closes, and any text either parses or
fails with the Italian :class:`OpeningHoursError` (never another exception)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.services.opening_hours import (
    DAYS,
    MINUTES_PER_DAY,
    MINUTES_PER_WEEK,
    OpeningHoursError,
    check_opening_hours,
    parse_opening_hours,
)

FAST = settings(max_examples=120, deadline=None)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def day_sets(draw) -> list[int]:
    return sorted(draw(st.sets(st.integers(0, 6), min_size=1, max_size=7)))


@st.composite
def same_day_ranges(draw) -> list[tuple[int, int]]:
    """1-3 disjoint, sorted ranges within one day (in 5-minute steps)."""
    points = sorted(draw(st.sets(st.integers(0, MINUTES_PER_DAY // 5), min_size=2, max_size=6)))
    if len(points) % 2:
        points = points[:-1]
    return [(points[i] * 5, points[i + 1] * 5) for i in range(0, len(points), 2)]


def _days_text(days: list[int]) -> str:
    return ",".join(DAYS[d] for d in days)


def _model(rules: list[tuple[list[int], list[tuple[int, int]]]]) -> np.ndarray:
    """Normal rules (``;``) read left to right: each replaces what earlier rules said of its days."""
    owned: dict[int, list[tuple[int, int]]] = {d: [] for d in range(7)}
    for days, ranges in rules:
        for d in days:
            owned[d] = list(ranges)
    out = np.zeros((7, MINUTES_PER_DAY), dtype=bool)
    for d, ranges in owned.items():
        for a, b in ranges:
            out[d, a:min(b, MINUTES_PER_DAY)] = True
            if b > MINUTES_PER_DAY:
                out[(d + 1) % 7, :b - MINUTES_PER_DAY] = True
    return out


@FAST
@given(st.lists(st.tuples(day_sets(), same_day_ranges()), min_size=1, max_size=4), st.integers(1, 12))
def test_normal_rules_match_the_reference_model(rules, month):
    text = "; ".join(f"{_days_text(days)} " + ",".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in ranges)
                     for days, ranges in rules)
    parsed = parse_opening_hours(text)
    minutes = parsed.minutes(month=month)
    assert (minutes == _model(rules)).all(), text
    assert parsed.weekly_minutes(month=month) == int(minutes.sum()) <= MINUTES_PER_WEEK
    shares = parsed.matrix(month=month, slot_minutes=60)
    assert shares.shape == (7, 24)
    assert ((shares >= 0) & (shares <= 1)).all()
    assert round(float(shares.sum()) * 60) == int(minutes.sum())


@FAST
@given(day_sets(), st.integers(1, 287), st.integers(0, 287))
def test_a_range_ending_before_its_start_runs_past_midnight(days, start, end):
    start, end = start * 5, min(end * 5, start * 5)  # end at or before start
    text = f"{_days_text(days)} {_hhmm(start)}-{_hhmm(end)}"
    minutes = parse_opening_hours(text).minutes(month=1)
    expected = _model([(days, [(start, end + MINUTES_PER_DAY)])])
    assert (minutes == expected).all(), text


@FAST
@given(day_sets(), same_day_ranges(), day_sets())
def test_off_closes_exactly_its_days(days, ranges, closed):
    text = f"{_days_text(days)} " + ",".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in ranges) + \
        f"; {_days_text(closed)} off"
    minutes = parse_opening_hours(text).minutes(month=6)
    assert not minutes[closed].any()
    expected = _model([(days, ranges), (closed, [])])
    assert (minutes == expected).all(), text


@FAST
@given(st.text(alphabet=st.sampled_from(list("MoTuWeThFrSaSu0123456789:-,; /\"offJanDec+[]|PH")), max_size=40))
def test_any_text_parses_or_fails_in_italian(text):
    message = check_opening_hours(text)
    if message is not None:  # refused: the same Italian message as the parser's error
        assert message
        with pytest.raises(OpeningHoursError) as caught:
            parse_opening_hours(text)
        assert str(caught.value) == message
        return
    parsed = parse_opening_hours(text)
    for month in (1, 7):
        minutes = parsed.minutes(month=month)
        assert minutes.shape == (7, MINUTES_PER_DAY)
        assert minutes.dtype == bool


@FAST
@given(st.text(max_size=30))
def test_arbitrary_unicode_never_crashes_the_parser(text):
    error = check_opening_hours(text)  # parses, or an Italian message: nothing else escapes
    assert error is None or isinstance(error, str)
