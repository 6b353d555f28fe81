"""Italian labels of months and the month options of the period filter (no Streamlit)."""

from __future__ import annotations

from datetime import date

MONTHS_IT = ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"]


def month_label(d: date) -> str:
    """``date(2024, 3, 1)`` → ``"mar 2024"``."""
    return f"{MONTHS_IT[d.month - 1]} {d.year}"


def month_options(first: date, last: date) -> list[date]:
    """First days of every month from the month of ``first`` to the month of ``last`` (inclusive)."""
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def default_period(months: list[date], saved: tuple[date | None, date | None] | None = None) -> tuple[date, date]:
    """The period slider's value: the saved one when both ends are still options, otherwise the
    last twelve months (or all of them when fewer)."""
    if saved and saved[0] in months and saved[1] in months:
        return saved[0], saved[1]
    return months[max(0, len(months) - 12)], months[-1]
