"""What the hot-spot layer is worth: its noise floor and a back-test against the next period.

- :func:`noise_floor`: how many hot or cold hexagons the same counts give when shuffled at random
  over the hexagons (no spatial pattern), read off the 199 shuffles of the hot-spot test itself
  (no extra cost). With the calibrated test it is 0 in about 95 % of shuffles; the page shows it
  next to the number of hot spots, so a reader sees what chance alone produces.
- :func:`backtest`: the hot spots of one year against the incidents of the next, with the
  measures of predictive accuracy used in the hot-spot literature (Chainey, Tompson & Uhlig 2008;
  Hunt 2016 and the NIJ 2023 comparison for PEI*):

  * **hit rate**: share of the next period's incidents that fall in the hot hexagons;
  * **PAI** (Predictive Accuracy Index): hit rate / share of the area they cover;
  * **PEI\\*** (Predictive Efficiency Index, Hunt's form): incidents of the next period in the hot
    hexagons / incidents in the same number of hexagons with the most incidents of the next period
    (the best any map of that size could have done), 0-1.

Disclosure: these are shares of totals of hundreds of incidents, published rounded to whole
percent, and withheld (None) when the incidents they are made of are fewer than
:data:`MIN_INCIDENTS`, so no small count can be read from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from libpysal.graph import Graph

from geo.data.filters import Filters
from geo.data.storage import Store
from geo.zones import hotspots

#: Below this many incidents in either period no back-test figure is published.
MIN_INCIDENTS = 30


@dataclass(frozen=True)
class NoiseFloor:
    """Hot hexagons given by random arrangements of the same counts."""

    shuffles: int
    median: float
    maximum: int
    share_with_any: float


def noise_floor(hot: pd.DataFrame) -> NoiseFloor | None:
    """The noise floor of a :func:`geo.zones.hotspots.gi_star` result: how many hexagons pass the
    test in each of its own shuffles of the same counts (hot and cold; None for the former method)."""
    arr = np.asarray(hot.attrs.get("noise", np.zeros(0)))
    if not len(arr):
        return None if "noise" not in hot.attrs else NoiseFloor(0, 0.0, 0, 0.0)
    return NoiseFloor(shuffles=len(arr), median=float(np.median(arr)), maximum=int(arr.max()),
                      share_with_any=float((arr > 0).mean()))


@dataclass(frozen=True)
class Backtest:
    """Hot spots of ``train`` against incidents of ``test`` (None: too few incidents)."""

    train: tuple[date, date]
    test: tuple[date, date]
    hot_cells: int
    area_share: float
    hit_rate: float | None
    pai: float | None
    pei_star: float | None


def split_years(months: list[date]) -> tuple[np.ndarray, np.ndarray] | None:
    """Masks of the last 12 months and the 12 before them (None with fewer than 24 months)."""
    n = len(months)
    if n < 24:
        return None
    test = np.zeros(n, dtype=bool)
    train = np.zeros(n, dtype=bool)
    test[n - 12:] = True
    train[n - 24:n - 12] = True
    return train, test


def backtest(cells: np.ndarray, months: list[date], history: np.ndarray, area_km2: np.ndarray, *,
             w: Graph | None = None) -> Backtest | None:
    """Back-test of the previous twelve months' hot spots on the last twelve months."""
    split = split_years(months)
    if split is None:
        return None
    train, test = split
    history = np.asarray(history, dtype=np.float64)
    before, after = history[:, train].sum(axis=1), history[:, test].sum(axis=1)
    w = w if w is not None else hotspots.contiguity_weights(cells)
    hot = (hotspots.gi_star(cells, before, w=w)["hotspot"] == hotspots.HOT).to_numpy()
    area = np.asarray(area_km2, dtype=np.float64)
    area_share = float(area[hot].sum() / area.sum()) if area.sum() > 0 else 0.0
    n_hot = int(hot.sum())
    months_train = [m for m, t in zip(months, train, strict=True) if t]
    months_test = [m for m, t in zip(months, test, strict=True) if t]
    period = ((months_train[0], months_train[-1]), (months_test[0], months_test[-1]))
    total = after.sum()
    if n_hot == 0 or total < MIN_INCIDENTS or before.sum() < MIN_INCIDENTS:
        return Backtest(*period, hot_cells=n_hot, area_share=area_share, hit_rate=None, pai=None, pei_star=None)
    inside = after[hot].sum()
    best = np.sort(after)[::-1][:n_hot].sum()
    hit = float(inside / total)
    published = inside >= MIN_INCIDENTS
    return Backtest(
        *period, hot_cells=n_hot, area_share=area_share,
        hit_rate=hit if published else None,
        pai=hit / area_share if published and area_share > 0 else None,
        pei_star=float(inside / best) if published and best > 0 else None,
    )


def _period_it(span: tuple[date, date]) -> str:
    start, end = span
    if start.year == end.year and start.month == 1 and end.month == 12:
        return f"del {start.year}"
    return f"da {start.month:02d}/{start.year} a {end.month:02d}/{end.year}"


def evidence_lines(n_hot: int, noise: NoiseFloor | None, back: Backtest | None) -> list[str]:
    """Italian sentences for the page and the reports: the noise floor and the back-test."""
    from geo.access.privacy import format_decimal, format_int, format_percent

    lines = []
    if noise is not None:
        lines.append(
            f"**Soglia del caso:** gli stessi conteggi disposti a caso sugli esagoni danno "
            f"{format_int(noise.median)} esagoni caldi o freddi (mediana; al più {format_int(noise.maximum)} in "
            f"{format_int(noise.shuffles)} rimescolamenti, almeno uno nel {format_percent(noise.share_with_any, 1)}) "
            f"contro {format_int(n_hot)} caldi sulla mappa reale.")
    if back is None:
        lines.append("**Verifica retrospettiva:** servono almeno 24 mesi di dati.")
    elif back.hit_rate is None:
        lines.append(f"**Verifica retrospettiva:** le zone calde {_period_it(back.train)} sono "
                     f"{format_int(back.hot_cells)} esagoni; troppo pochi delitti per pubblicare il confronto "
                     f"con il periodo successivo (meno di {MIN_INCIDENTS}).")
    else:
        lines.append(
            f"**Verifica retrospettiva:** le zone calde {_period_it(back.train)} "
            f"({format_percent(back.area_share, 1)} della superficie) contenevano il "
            f"{format_percent(back.hit_rate)} dei delitti {_period_it(back.test)}: PAI "
            f"{format_decimal(back.pai, 1)} (quota di delitti / quota di superficie), PEI* "
            f"{format_decimal(back.pei_star, 2)} (rispetto ai {format_int(back.hot_cells)} esagoni con più delitti "
            f"{_period_it(back.test)}, il massimo possibile con la stessa superficie).")
    return lines


@dataclass(frozen=True)
class Evidence:
    """The hot spots of the filters' period at their resolution, with their noise floor and
    back-test (what the Mappa page shows next to its hot-spot outline)."""

    hot_cells: np.ndarray
    cold_cells: np.ndarray
    noise: NoiseFloor | None
    back: Backtest | None

    @property
    def n_hot(self) -> int:
        return len(self.hot_cells)

    def lines(self) -> list[str]:
        return evidence_lines(self.n_hot, self.noise, self.back)

    def markdown(self) -> str:
        """The count of hot and cold hexagons, then :meth:`lines` (Italian, Markdown)."""
        from geo.access.privacy import format_int

        head = (f"**Punti caldi (Gi\\*, errore 5 %):** {format_int(self.n_hot)} esagoni caldi (bordo rosso) e "
                f"{format_int(len(self.cold_cells))} freddi (bordo blu tratteggiato).")
        return "  \n".join([head, *self.lines()])


def map_evidence(store: Store, filters: Filters) -> Evidence:
    """Max-T Gi* hot and cold hexagons of the incidents with the filters (resolution, comuni,
    period, categories, time band), the noise floor of the same test and the back-test of the
    last two years of the whole history, as on Zone pilota."""
    ctx = store.cell_context(filters.res, comuni=list(filters.comuni) or None).sort_values("cell")
    cells = ctx["cell"].to_numpy(dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    if len(cells) == 0:
        return Evidence(empty, empty, None, None)
    inc = store.incidents_by_cell(filters.res, **filters.query_kwargs()).set_index("cell")
    counts = inc["incidents"].reindex(cells, fill_value=0).to_numpy(dtype=np.float64) if len(inc) else \
        np.zeros(len(cells))
    w = hotspots.contiguity_weights(cells)
    hot = hotspots.gi_star(cells, counts, w=w)
    months, history = hotspots.load_history(store, filters, cells)
    back = backtest(cells, months, history, ctx["area_km2"].to_numpy(dtype=np.float64), w=w) if months else None
    label = hot["hotspot"].to_numpy()
    return Evidence(cells[label == hotspots.HOT], cells[label == hotspots.COLD], noise_floor(hot), back)
