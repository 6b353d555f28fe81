"""The options and defaults of the sidebar filters, and the :class:`~geo.data.filters.Filters`
they make (no Streamlit: ``pages/common.py`` only draws the widgets)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd

from geo import config
from geo.data import hexgrid
from geo.data.filters import Filters
from geo.data.schemas import TIME_BANDS

#: Options of the time-band filter; ``"tutte"`` is day and night.
BAND_OPTIONS = ["tutte", *TIME_BANDS]
#: Options of the resolution filter; ``"auto"`` follows the area in view.
RES_OPTIONS = ["auto", *config.VIEW_RESOLUTIONS]


def band_label(band: str) -> str:
    return "Giorno e notte" if band == "tutte" else TIME_BANDS[band]


def band_index(saved: Filters | None) -> int:
    """Index in :data:`BAND_OPTIONS` of the saved time band (0, day and night, when none)."""
    return BAND_OPTIONS.index(saved.time_band) if saved and saved.time_band else 0


def auto_resolution(comuni: pd.DataFrame, chosen: Sequence[str]) -> int:
    """The H3 resolution suggested for the chosen comuni (all of them when none is chosen)."""
    rows = comuni[comuni["pro_com_t"].isin(chosen)] if chosen else comuni
    return hexgrid.suggest_resolution(float(rows["area_km2"].sum()))


def make_filters(*, chosen: Sequence[str], period: tuple[date, date] | tuple[None, None], categories: Sequence[str],
                 band: str, res_choice: int | str, auto: int) -> Filters:
    """The filters of the widgets' values."""
    return Filters(res=auto if res_choice == "auto" else int(res_choice), comuni=tuple(chosen), start=period[0],
                   end=period[1], categories=tuple(categories), time_band=None if band == "tutte" else band)
