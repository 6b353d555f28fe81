"""Statistical confidentiality of incident figures: who sees exact counts, and how others see them.

Pact art. 3 lets the Prefettura give the Comuni *anonymous statistical elaborations* of crime
trends, "nel rispetto delle regole del Garante". The Sistan code of conduct (Italian statistical
ethics rules) sets three as the minimum frequency of a published aggregate
(:data:`geo.config.SUPPRESSION_THRESHOLD`): an incident count between 1 and ``threshold - 1`` in
a hexagon could point at a person (a victim, a household, a shop), so roles without police
clearance see it as ``"< 3"`` and never the number.

Choices
-------
* **Zero stays zero.** "Nothing was reported here" does not describe anybody, and hiding zeros
  would blank most of the map without protecting anyone.
* **Derived values follow their counts.** A rate per 1,000 residents, a density per km² or a
  night share can be multiplied back into the count (residents and areas are published), so each
  derived column names the counts it reveals and is hidden whenever one of them is. The night
  share reveals both the night and the day count (``incidents`` is published): it is hidden when
  either of them is small, not only the total.
* **Secondary (complementary) suppression.** Totals published next to a hidden cell (a comune's
  total, the sum of the table) let a reader recover the hidden value by subtraction, also when
  several cells are hidden (two hidden cells summing to 2 are both 1).
  :func:`complementary_suppression` hides further cells until, in every group whose total is
  published, each hidden small count could take at least two values given the total, the
  visible cells and what the labels say (``"< 3"``: 1 to 2; ``"riservato"``: 0 or at least the
  threshold). When no cell can protect it, the group is reported so that its total is hidden
  instead. The map's hexagons (:mod:`geo.overview.metrics`) use it with the comune and the whole table as
  groups; the monthly series of one hexagon use :func:`geo.overview.trends.suppress`.

Non-incident layers (street lights, degradation reports, schools, services, confiscated
properties) are not about people and are shown exactly; only the address of homeless services
with ``public = false`` is hidden from roles without clearance (see :mod:`geo.maps.layers`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from geo import config

#: Roles of the dashboard with their Italian labels.
ROLES: dict[str, str] = {
    "prefettura": "Prefettura",
    "forze_polizia": "Forze di polizia",
    "regione": "Regione",
    "comune": "Comune",
    "osservatore": "Osservatore",
}
#: Roles that see exact incident counts (the police and the Prefettura chairing the CPOSP).
CLEARED_ROLES = frozenset({"prefettura", "forze_polizia"})

#: Text shown instead of a hidden count and instead of a value derived from one.
COUNT_LABEL = f"< {config.SUPPRESSION_THRESHOLD}"
DERIVED_LABEL = "riservato"
#: Text for a value that does not exist (for example a rate where too few people live).
MISSING_LABEL = "–"


def can_see_exact(role: str | None) -> bool:
    """True for roles cleared to see every incident count; unknown roles are not cleared."""
    return role in CLEARED_ROLES


def _threshold(threshold: int | None) -> int:
    return config.SUPPRESSION_THRESHOLD if threshold is None else int(threshold)


def suppressed_mask(
    counts: pd.Series | np.ndarray | Sequence[float], role: str | None, *, threshold: int | None = None
) -> np.ndarray:
    """True where a count must be hidden from ``role``: ``1 <= count < threshold``.

    Zero and missing values are never hidden; cleared roles hide nothing.
    """
    values = np.asarray(pd.to_numeric(pd.Series(counts, dtype="object"), errors="coerce"), dtype="float64")
    if can_see_exact(role):
        return np.zeros(values.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        return (values >= 1) & (values < _threshold(threshold))


# --------------------------------------------------------------------------------------------
# Italian display of figures
# --------------------------------------------------------------------------------------------

def format_int(value: float | None) -> str:
    """``1234`` → ``"1.234"``; missing → ``"–"``."""
    if value is None or pd.isna(value):
        return MISSING_LABEL
    return f"{round(float(value)):,}".replace(",", ".")


def format_decimal(value: float | None, decimals: int = 1) -> str:
    """``1234.56`` → ``"1.234,6"`` (Italian separators); missing → ``"–"``."""
    if value is None or pd.isna(value):
        return MISSING_LABEL
    text = f"{float(value):,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def format_percent(share: float | None, decimals: int = 0) -> str:
    """A share in 0-1 as a percentage: ``0.256`` → ``"26 %"``; missing → ``"–"``."""
    if share is None or pd.isna(share):
        return MISSING_LABEL
    return f"{format_decimal(float(share) * 100, decimals)} %"


# --------------------------------------------------------------------------------------------
# Suppression of series and frames
# --------------------------------------------------------------------------------------------

def suppress_counts(series: pd.Series, role: str | None, *, threshold: int | None = None) -> pd.Series:
    """Counts as display strings for ``role``: ``"< 3"`` where hidden, ``"1.234"`` otherwise.

    Returns an object Series on the same index.
    """
    hidden = suppressed_mask(series, role, threshold=threshold)
    shown = [COUNT_LABEL if h else format_int(v) for h, v in zip(hidden, series, strict=True)]
    return pd.Series(shown, index=series.index, dtype="object", name=series.name)


def complementary_suppression(
    counts: pd.Series | np.ndarray | Sequence[float],
    groups: Sequence[pd.Series | np.ndarray | Sequence[object]],
    role: str | None,
    *,
    threshold: int | None = None,
) -> tuple[np.ndarray, list[tuple[int, object]]]:
    """Cells to hide *in addition* to the small counts, so that no published total gives them away.

    Each entry of ``groups`` labels the rows (aligned with ``counts``); rows sharing a label
    form a group whose total is assumed published. Within a group, a hidden small count ``v``
    (``1 <= v < threshold``) is safe when another hidden cell of the group could move by one unit
    the opposite way while every label stays true: ``v`` can go up if another small count is at
    least 2 or a complementary cell is above the threshold; ``v`` can go down if another small
    count is at most ``threshold - 2`` or a complementary cell is at least the threshold (a
    hidden zero protects nothing: it cannot become 1 or 2 without being a small count itself).
    Unsafe groups get their smallest suitable visible cell hidden, until every group is safe or
    has no suitable cell left.

    Parameters
    ----------
    counts
        Exact counts (non-negative integers).
    groups
        Group labels per row, one array per kind of published total (e.g. the comune of each
        hexagon, and one constant for the whole table).
    role
        Cleared roles (:data:`CLEARED_ROLES`) need nothing hidden.
    threshold
        Smallest count published (default :data:`geo.config.SUPPRESSION_THRESHOLD`).

    Returns
    -------
    extra, unprotected
        ``extra``: boolean array, True for the complementary cells (the small counts themselves
        are not included: see :func:`suppressed_mask`). ``unprotected``: ``(group index, label)``
        of the groups left unsafe, whose total must then be hidden too.
    """
    values = np.nan_to_num(np.asarray(pd.to_numeric(pd.Series(counts, dtype="object"), errors="coerce"),
                                      dtype="float64"), nan=0.0).astype("int64")
    primary = suppressed_mask(values, role, threshold=threshold)
    extra = np.zeros(values.shape, dtype=bool)
    if not primary.any():
        return extra, []
    t = _threshold(threshold)
    labels = [pd.Series(np.asarray(g, dtype="object")).fillna("").to_numpy() for g in groups]
    members = [list(pd.Series(range(len(values))).groupby(lab, sort=False).indices.values()) for lab in labels]
    unprotected: dict[tuple[int, object], bool] = {}
    for _ in range(len(values) + 1):  # each pass hides at least one more cell or stops
        changed = False
        for k, lab in enumerate(labels):
            for idx in members[k]:
                prim, comp, v = primary[idx], extra[idx], values[idx]
                if not prim.any():
                    continue
                down = (prim & (v >= 2)) | (comp & (v >= t + 1))  # hidden cells that may move by -1
                up = (prim & (v <= t - 2)) | (comp & (v >= t))  # hidden cells that may move by +1
                may_rise = prim & (v <= t - 2) & ((down.sum() - down) >= 1)
                may_fall = prim & (v >= 2) & ((up.sum() - up) >= 1)
                unsafe = prim & ~(may_rise | may_fall)
                key = (k, lab[idx[0]])
                if not unsafe.any():
                    unprotected.pop(key, None)
                    continue
                # A visible cell above the threshold helps every unsafe count; one equal to the
                # threshold only those that may fall; zeros help none.
                visible = ~(prim | comp)
                big, at_t = visible & (v >= t + 1), visible & (v == t)
                score_big = int(unsafe.sum()) if big.any() else 0
                score_t = int((unsafe & (v >= 2)).sum()) if at_t.any() else 0
                if score_big == 0 and score_t == 0:
                    unprotected[key] = True
                    continue
                pool = np.flatnonzero(at_t if score_t >= score_big else big)
                chosen = pool[np.lexsort((pool, v[pool]))[0]]
                extra[idx[chosen]] = True
                changed = True
        if not changed:
            break
    return extra, sorted(unprotected, key=lambda kl: (kl[0], str(kl[1])))


def suppression_mask(
    df: pd.DataFrame,
    count_cols: Sequence[str],
    derived_cols: Mapping[str, Sequence[str]] | Sequence[str],
    role: str | None,
    *,
    threshold: int | None = None,
    extra: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Where :func:`apply_suppression` hides values, without formatting anything.

    Returns a boolean DataFrame with one column per count and derived column (see
    :func:`apply_suppression` for the parameters).
    """
    if isinstance(derived_cols, Mapping):
        depends = {col: list(sources) for col, sources in derived_cols.items()}
    else:
        depends = {col: list(count_cols) for col in derived_cols}
    unknown = [s for sources in depends.values() for s in sources if s not in count_cols]
    if unknown:
        raise ValueError(f"colonne di conteggio non dichiarate: {sorted(set(unknown))}")
    mask = pd.DataFrame(index=df.index)
    for col in count_cols:
        mask[col] = suppressed_mask(df[col], role, threshold=threshold)
        if extra is not None and col in extra.columns and not can_see_exact(role):
            mask[col] = mask[col].to_numpy() | extra[col].to_numpy(dtype=bool)
    for col, sources in depends.items():
        mask[col] = mask[sources].any(axis=1) if sources else False
    return mask


def apply_suppression(
    df: pd.DataFrame,
    count_cols: Sequence[str],
    derived_cols: Mapping[str, Sequence[str]] | Sequence[str],
    role: str | None,
    *,
    threshold: int | None = None,
    formats: Mapping[str, Callable[[float], str]] | None = None,
    extra: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Display copy of ``df`` with small counts, and the values derived from them, hidden.

    Parameters
    ----------
    df
        Exact figures, one row per published unit (a hexagon, a comune).
    count_cols
        Incident counts: hidden when ``1 <= count < threshold``.
    derived_cols
        Values computed from the counts (rates, densities, shares). A mapping names, for each
        derived column, the counts it reveals; a plain sequence means "all of ``count_cols``".
    role
        The viewer's role; cleared roles (:data:`CLEARED_ROLES`) see everything.
    formats
        Display function per column; counts default to :func:`format_int`, derived values to
        :func:`format_decimal` with one decimal.
    extra
        Counts to hide besides the small ones (complementary suppression, see
        :func:`complementary_suppression`): a boolean DataFrame with some of ``count_cols``,
        aligned on ``df``. They are shown as ``"riservato"`` and their derived values follow.

    Returns
    -------
    display, mask
        ``display``: a copy of ``df`` whose count and derived columns are strings (``"< 3"``
        for a hidden count, ``"riservato"`` for a hidden derived value); other columns are
        untouched. ``mask``: a boolean DataFrame with one column per count and derived column,
        True where the value is hidden. ``df[cols].mask(mask)`` gives numbers safe to publish.
    """
    formats = dict(formats or {})
    mask = suppression_mask(df, count_cols, derived_cols, role, threshold=threshold, extra=extra)
    display = df.copy()
    for col in mask.columns:
        is_count = col in count_cols
        fmt = formats.get(col, format_int if is_count else format_decimal)
        small = suppressed_mask(df[col], role, threshold=threshold) if is_count else np.zeros(len(df), dtype=bool)
        display[col] = [(COUNT_LABEL if p else DERIVED_LABEL) if h else fmt(v)
                        for h, p, v in zip(mask[col], small, df[col], strict=True)]
    return display, mask
