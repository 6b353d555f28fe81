"""Statistical confidentiality of incident figures: who sees exact counts, and display helpers.

Pact art. 3 lets the Prefettura give the Comuni *anonymous statistical elaborations* of crime
trends, "nel rispetto delle regole del Garante". The Sistan code of conduct (Italian statistical
ethics rules) sets three as the minimum frequency of a published aggregate
(:data:`geo.config.SUPPRESSION_THRESHOLD`).

**The disclosure control is the cell-key method of** :mod:`geo.access.disclosure`: every incident
count a role without police clearance can obtain is published as its protected value
(:func:`geo.access.disclosure.protect_counts`: never 1 to ``threshold - 1``, the same for the same
records however they are asked for), and derived values are computed from the protected counts.
The threat model and the choice are in ``docs/AUTH.md`` (*Disclosure control*).

This module keeps the roles, :func:`can_see_exact`, the Italian number formats and the older
threshold helpers (:func:`suppressed_mask`, :func:`apply_suppression`). These no longer protect
anything on their own: the capabilities call them on *already protected* figures, where they hide
nothing (no protected count is small), as a fail-closed guard should exact figures ever reach a
view of a role without clearance.

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


#: Vega expression for axis labels in the Italian number format (thousands with a dot, decimals
#: with a comma), for ``alt.Axis(labelExpr=...)``.
VEGA_IT_NUMBER = "replace(replace(replace(format(datum.value, ',~f'), ',', '_'), '.', ','), '_', '.')"


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
        Counts to hide besides the small ones: a boolean DataFrame with some of ``count_cols``,
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
