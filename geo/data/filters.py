"""The common filters of the dashboard, as a plain value object usable outside Streamlit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Filters:
    """What the user is looking at.

    ``comuni`` empty means the whole territory; ``categories`` empty means all; ``time_band``
    None means day and night; ``start``/``end`` are first days of months (inclusive).
    """

    res: int = 8
    comuni: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    categories: tuple[str, ...] = ()
    time_band: str | None = None

    def query_kwargs(self) -> dict:
        """Keyword arguments for the incident queries of :class:`geo.data.storage.Store`."""
        return {
            "comuni": list(self.comuni) or None,
            "start": self.start,
            "end": self.end,
            "categories": list(self.categories) or None,
            "time_band": self.time_band,
        }

    @property
    def months(self) -> int | None:
        """Number of months in the period, or None when open-ended."""
        if self.start is None or self.end is None:
            return None
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
