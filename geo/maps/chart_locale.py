"""Italian numbers and dates in every Altair chart (Vega-Lite ``config.locale``).

:func:`enable` registers and enables the Altair theme ``lanterna``: its configuration carries
Vega's number locale (decimal comma, thousands point, euro after the amount) and time locale
(Italian month and day names, ``dd/mm/yyyy``), so axes, tooltips and legends read 1.234,5 and
02/12/2026 without a format on each chart. The dashboard enables it once at start.
"""

from __future__ import annotations

import altair as alt

THEME = "lanterna"

NUMBER_LOCALE = {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " €"], "percent": " %"}
TIME_LOCALE = {
    "dateTime": "%A %e %B %Y, %X",
    "date": "%d/%m/%Y",
    "time": "%H:%M:%S",
    "periods": ["", ""],
    "days": ["domenica", "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato"],
    "shortDays": ["dom", "lun", "mar", "mer", "gio", "ven", "sab"],
    "months": ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
               "ottobre", "novembre", "dicembre"],
    "shortMonths": ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"],
}


def theme() -> dict:
    """Altair's default view size plus the Italian locale."""
    return {"config": {"view": {"continuousWidth": 300, "continuousHeight": 300},
                       "locale": {"number": NUMBER_LOCALE, "time": TIME_LOCALE}}}


def enable() -> None:
    """Register and enable the theme (idempotent; process-wide, as Altair's themes are)."""
    if THEME not in alt.theme.names():
        alt.theme.register(THEME, enable=False)(theme)
    if alt.theme.active != THEME:
        alt.theme.enable(THEME)
