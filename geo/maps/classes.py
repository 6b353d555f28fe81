"""Legend classes for choropleth maps: bins, class per hexagon, Italian labels and colours.

Counts of crimes, reports or light points per hexagon are very skewed (most hexagons hold
nothing, a few hold a lot), so:

* **zero is a class of its own** when the values are non-negative: "nothing here" must not share
  a colour with "a little";
* the positive values are split by **quantiles** (the default: every class holds about as many
  hexagons, so the map is never one colour) or by **natural breaks** (Fisher-Jenks, which
  minimises the variance inside classes; mapclassify's implementation is pure Python without
  numba, so above :data:`JENKS_SAMPLE` values the breaks are computed on evenly spaced order
  statistics, which keeps the result deterministic);
* with few distinct values each value gets its own class;
* missing values (for example a rate where too few people live) and values hidden for privacy
  (:mod:`geo.access.privacy`) get their own neutral colours, outside the ramp.

Colours are ColorBrewer sequential ramps (Brewer, Harrower & MacEachren), colour-blind safe:
YlOrRd when higher is worse, YlGnBu otherwise.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import mapclassify
import numpy as np
import pandas as pd
from branca.utilities import color_brewer

from geo.access.privacy import format_decimal, format_int

Scheme = Literal["quantiles", "natural_breaks"]

#: Classification methods offered to the user, with Italian labels.
SCHEMES: dict[str, str] = {
    "quantiles": "Quantili",
    "natural_breaks": "Interruzioni naturali (Jenks)",
}
#: Class codes outside the ramp.
NO_DATA = -1
HIDDEN = -2
ZERO_COLOR = "#ffffff"
NO_DATA_COLOR = "#f0f0f0"
HIDDEN_COLOR = "#b0b0b0"
RAMP_WORSE = "YlOrRd"
RAMP_NEUTRAL = "YlGnBu"
#: Values above which Fisher-Jenks runs on a deterministic sample of order statistics.
JENKS_SAMPLE = 500


@dataclass(frozen=True)
class Classification:
    """Result of :func:`classify`.

    ``classes`` holds, per input row, an index into ``labels``/``colors`` or :data:`NO_DATA`
    / :data:`HIDDEN`. ``bins`` are the upper bounds (inclusive) of the value classes, ``counts``
    the number of rows per class.
    """

    scheme: str
    bins: tuple[float, ...]
    classes: pd.Series
    labels: tuple[str, ...]
    colors: tuple[str, ...]
    counts: tuple[int, ...]

    def color_of(self, code: int) -> str:
        """Colour of a class code, including the special ones."""
        if code == NO_DATA:
            return NO_DATA_COLOR
        if code == HIDDEN:
            return HIDDEN_COLOR
        return self.colors[code]


def _default_format(integer: bool) -> Callable[[float], str]:
    if integer:
        return format_int

    def fmt(value: float) -> str:
        return format_decimal(value, 1 if abs(value) >= 10 else 2)

    return fmt


def _ramp_bins(values: np.ndarray, k: int, scheme: str) -> np.ndarray:
    """Upper bounds of ``k`` classes (or fewer) for the values on the colour ramp."""
    unique = np.unique(values)
    if len(unique) <= k:
        return unique
    with warnings.catch_warnings():
        # mapclassify warns when ties leave fewer distinct bins than asked; np.unique handles it.
        warnings.simplefilter("ignore", UserWarning)
        if scheme == "quantiles":
            bins = mapclassify.Quantiles(values, k=k).bins
        elif scheme == "natural_breaks":
            sample = np.sort(values)
            if len(sample) > JENKS_SAMPLE:
                sample = sample[np.linspace(0, len(sample) - 1, JENKS_SAMPLE).round().astype(int)]
            bins = mapclassify.FisherJenks(sample, k=min(k, len(np.unique(sample)))).bins
        else:
            raise ValueError(f"metodo di classificazione sconosciuto: {scheme} (valori: {', '.join(SCHEMES)})")
    bins = np.unique(np.asarray(bins, dtype="float64"))
    bins[-1] = max(bins[-1], values.max())
    return bins


def classify(
    values: pd.Series,
    *,
    scheme: Scheme | str = "quantiles",
    k: int = 5,
    hidden: pd.Series | np.ndarray | None = None,
    higher_is_worse: bool = True,
    integer: bool | None = None,
    fmt: Callable[[float], str] | None = None,
) -> Classification:
    """Split ``values`` into legend classes.

    Parameters
    ----------
    values
        One value per map feature (NaN: no data).
    scheme
        ``"quantiles"`` or ``"natural_breaks"`` (see :data:`SCHEMES`).
    k
        Classes wanted, zero class included (fewer when the data have fewer distinct values).
    hidden
        True where the value must not be shown (privacy): those rows get :data:`HIDDEN` and do
        not take part in the breaks, so no bound says anything about them.
    higher_is_worse
        Chooses the ramp: YlOrRd (True) or YlGnBu.
    integer
        Whether values are counts (labels without decimals); guessed from the data when None.
    fmt
        Formats a bound for the labels; Italian separators by default.
    """
    if not 2 <= k <= 9:
        raise ValueError("il numero di classi deve essere tra 2 e 9")
    v = pd.to_numeric(values, errors="coerce").astype("float64")
    hide = np.zeros(len(v), dtype=bool) if hidden is None else np.asarray(hidden, dtype=bool)
    codes = np.full(len(v), NO_DATA, dtype="int64")
    codes[hide] = HIDDEN
    usable = ~hide & v.notna().to_numpy()
    data = v.to_numpy()[usable]
    if integer is None:
        integer = bool(len(data)) and bool(np.all(np.equal(np.mod(data, 1), 0)))
    fmt = fmt or _default_format(integer)

    bins: list[float] = []
    labels: list[str] = []
    colors: list[str] = []
    if len(data):
        has_zero_class = data.min() >= 0 and bool((data == 0).any())
        in_ramp = data > 0 if has_zero_class else np.ones(len(data), dtype=bool)
        data_codes = np.zeros(len(data), dtype="int64")
        if has_zero_class:
            bins.append(0.0)
            labels.append("0")
            colors.append(ZERO_COLOR)
        ramp_values = data[in_ramp]
        if len(ramp_values):
            ramp_bins = _ramp_bins(ramp_values, k - len(bins), scheme)
            ramp_codes = np.searchsorted(ramp_bins, ramp_values, side="left")
            # Classes left empty by ties are dropped so that every legend entry has hexagons.
            used, ramp_codes = np.unique(ramp_codes, return_inverse=True)
            for new, old in enumerate(used):
                members = ramp_values[ramp_codes == new]
                lo, hi = float(members.min()), float(members.max())
                bins.append(float(ramp_bins[old]))
                labels.append(fmt(lo) if lo == hi else f"{fmt(lo)} – {fmt(hi)}")
            data_codes[in_ramp] = ramp_codes + len(colors)
            ramp = color_brewer(RAMP_WORSE if higher_is_worse else RAMP_NEUTRAL, max(len(used), 3))
            colors.extend(ramp[-len(used):])
        codes[usable] = data_codes
    classes = pd.Series(codes, index=values.index, name="classe")
    counts = tuple(int((codes == i).sum()) for i in range(len(labels)))
    return Classification(
        scheme=str(scheme), bins=tuple(bins), classes=classes, labels=tuple(labels), colors=tuple(colors),
        counts=counts,
    )
