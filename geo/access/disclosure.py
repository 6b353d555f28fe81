"""The cell-key method: one disclosure control for every incident figure a role without clearance sees.

Why this method (the threat model is in ``docs/AUTH.md``, *Disclosure control*)
-------------------------------------------------------------------------------
A reader without police clearance can ask for the same incidents in thousands of ways: four
resolutions, the whole province or any set of comuni, any run of months, any set of categories,
day, night or both, a hexagon's monthly series, the KPI strip, the trends, zone totals and the
exports. Suppressing small counts in each view on its own does not survive subtraction between
views (issue 11 measured 3,141 of 3,870 hidden counts recovered exactly). Three established
methods were considered:

* **linked-table suppression** (tau-Argus, sdcTable) protects a *fixed* set of linked tables;
  here the set of tables is open (any period, any set of categories or comuni), so no
  suppression pattern can be computed in advance, and it hides many large values too;
* **controlled rounding** (to base 3) keeps additivity only inside one table structure and
  still needs the whole structure fixed in advance;
* the **cell-key method** (Australian Bureau of Statistics, TableBuilder; recommended by Eurostat
  for the 2021 census, *Harmonised protection of census data in the ESS*, 2017; the
  ``ptable``/``cellKey`` R packages of Destatis and Statistik Austria) perturbs each published
  count with a bounded noise chosen by the **cell key**, a number that depends only on *which*
  records the count adds up. The same records always get the same noise, however they were
  asked for, so repeating or rephrasing a query does not average the noise away; views are
  protected one by one, so the set of views may stay open.

Lanterna uses the cell-key method.

Record keys and cell keys
    Every stored aggregate row of ``incidents`` (cell, month, category, time band, outdoor) has a
    record key: the lower 64 bits of MD5(secret | row identity) modulo 2**32, computed by the
    store (:meth:`geo.data.storage.Store.incidents_by_cell`) with the territory's secret
    (``LANTERNA_CELL_KEY_SECRET`` or a random value kept in the database's ``meta`` table). The
    key of a published count is the sum of the keys of its rows modulo 2**32 (``*_key``
    columns), divided by 2**32 into [0, 1). Sums of keys can be added further (a zone, a school's
    buffer): :func:`combine_keys`.
Perturbation table (p-table), public
    ``0`` stays ``0`` (no row, nothing to hide). A count ``x`` from 1 to ``threshold - 1`` is
    published as ``0`` with probability ``1 - x / threshold`` and as ``threshold`` otherwise. A
    count ``x >= threshold`` gets a noise ``e`` in ``-MAX_NOISE .. MAX_NOISE`` with the
    probabilities :data:`NOISE_WEIGHTS`; when ``x + e`` would fall between 1 and
    ``threshold - 1`` its probability is split between ``0`` and ``threshold`` so that the mean
    stays ``x + e``. Every row of the table is unbiased (its mean is ``x``), **no published
    count is ever between 1 and threshold - 1**, and a count of at least ``threshold + MAX_NOISE``
    is published within :data:`MAX_NOISE` of the truth. Near the threshold the published value
    is ``0`` or between ``threshold`` and ``x + MAX_NOISE``: with the defaults a published 0
    comes from 0 to 5 incidents and a published 3 from 1 to 6 (:func:`preimage`).
    The cell key picks the outcome by inverting the row's cumulative distribution.
Derived figures
    Rates, shares, densities, changes, prevented incidents and exposure are computed *from the
    protected counts* (:func:`protect_counts`), so they publish nothing the counts do not.

Roles with police clearance (:func:`geo.access.privacy.can_see_exact`) get the exact counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from geo import config

#: Cell keys are sums of record keys modulo this (32-bit keys: the store takes MD5's lower bits).
KEY_MODULUS = 2**32

#: Largest noise added to a count at or above the threshold (Eurostat's census guidelines and the
#: Destatis ``ptable`` examples use a maximum deviation D of 2 to 5).
MAX_NOISE = 3

#: Probability of each noise value for counts at or above the threshold (symmetric, variance
#: 0.58, mean absolute error 0.49). The extreme values are very rare on purpose: a reader who
#: subtracts views can pin a count down only when every count involved sits at an end of its
#: possible range, i.e. drew the extreme noise, so the chance of an exact recovery grows with the
#: square of the extreme probability (docs/AUTH.md; with 0.02 at a bound of 2 the attacker of
#: ``scripts/bench_disclosure.py`` recovered 42 small counts for one of three secrets, with 0.001
#: at a bound of 3 none), while the typical error stays below one incident.
NOISE_WEIGHTS: dict[int, float] = {-3: 0.001, -2: 0.02, -1: 0.2, 0: 0.558, 1: 0.2, 2: 0.02, 3: 0.001}


def threshold() -> int:
    """The smallest published positive count (:data:`geo.config.SUPPRESSION_THRESHOLD`)."""
    return int(config.SUPPRESSION_THRESHOLD)


@lru_cache(maxsize=8)
def _rows(t: int, max_noise: int, weights: tuple[tuple[int, float], ...]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The p-table rows for counts 1 .. t + max_noise: (outcomes, cumulative probabilities)."""
    rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for x in range(1, t + max_noise + 1):
        mass: dict[int, float] = {}
        if x < t:
            mass = {0: 1 - x / t, t: x / t}
        else:
            for e, w in weights:
                y = x + e
                if y <= 0:
                    mass[0] = mass.get(0, 0.0) + w
                elif y < t:  # split so that the mean stays y
                    mass[t] = mass.get(t, 0.0) + w * y / t
                    mass[0] = mass.get(0, 0.0) + w * (1 - y / t)
                else:
                    mass[y] = mass.get(y, 0.0) + w
        outcomes = np.array(sorted(k for k, v in mass.items() if v > 0), dtype="int64")
        probs = np.array([mass[k] for k in outcomes], dtype="float64")
        rows[x] = (outcomes, np.cumsum(probs / probs.sum()))
    return rows


def ptable(*, t: int | None = None) -> pd.DataFrame:
    """The public perturbation table: one row per (true count, published count) with its
    probability, for true counts 1 .. threshold + MAX_NOISE; larger counts follow the last row
    shifted (``published = true + noise``, noise by :data:`NOISE_WEIGHTS`)."""
    t = threshold() if t is None else int(t)
    out = []
    for x, (outcomes, cum) in _rows(t, MAX_NOISE, tuple(sorted(NOISE_WEIGHTS.items()))).items():
        probs = np.diff(np.concatenate([[0.0], cum]))
        out += [{"true": x, "published": int(y), "probability": float(p)} for y, p in zip(outcomes, probs, strict=True)]
    return pd.DataFrame(out)


def preimage(published: int, *, t: int | None = None) -> tuple[int, int]:
    """The true counts a published count can come from, as an inclusive range (the p-table is
    public, so this is what any reader knows). ``0`` → ``(0, threshold - 1 + MAX_NOISE)``; a value
    the table never publishes raises ``ValueError``."""
    t = threshold() if t is None else int(t)
    y = int(published)
    rows = _rows(t, MAX_NOISE, tuple(sorted(NOISE_WEIGHTS.items())))
    last = max(rows)
    xs = [x for x, (outcomes, _) in rows.items() if y in outcomes]
    if y == 0:
        xs.append(0)
    if y >= t:  # shifted rows beyond the table: x + e = y with x > last
        xs += [y - e for e in NOISE_WEIGHTS if y - e > last]
    if not xs:
        raise ValueError(f"{y} non è mai pubblicato dalla tabella di perturbazione")
    return min(xs), max(xs)


def cell_keys(key_sums: np.ndarray | pd.Series | Sequence[int]) -> np.ndarray:
    """Sums of record keys → cell keys in [0, 1)."""
    k = np.asarray(key_sums, dtype="float64")
    k = np.nan_to_num(k, nan=0.0)
    return np.mod(np.mod(k, KEY_MODULUS) / KEY_MODULUS, 1.0)


def combine_keys(key_sums: pd.Series | np.ndarray) -> int:
    """The key sum of a union of disjoint counts (a zone, a buffer): the sum modulo 2**32."""
    values = np.asarray(key_sums, dtype="object")
    return int(sum(int(v) % KEY_MODULUS for v in values if not pd.isna(v)) % KEY_MODULUS)


def perturb(counts: np.ndarray | pd.Series | Sequence[float], key_sums: np.ndarray | pd.Series | Sequence[int],
            *, t: int | None = None) -> np.ndarray:
    """Published counts by the p-table: same counts and keys, same result (int64 array).

    Parameters
    ----------
    counts
        True counts (non-negative integers; missing counts as 0).
    key_sums
        Sums of the record keys of each count (``*_key`` columns of the store's queries).
    """
    t = threshold() if t is None else int(t)
    x = np.nan_to_num(np.asarray(counts, dtype="float64"), nan=0.0).round().astype("int64")
    u = cell_keys(key_sums)
    if x.shape != u.shape:
        raise ValueError("conteggi e chiavi devono avere la stessa forma")
    out = x.copy()
    rows = _rows(t, MAX_NOISE, tuple(sorted(NOISE_WEIGHTS.items())))
    last = max(rows)
    for value, (outcomes, cum) in rows.items():
        sel = x == value
        if sel.any():
            out[sel] = outcomes[np.minimum(np.searchsorted(cum, u[sel], side="right"), len(outcomes) - 1)]
    big = x > last
    if big.any():
        noises = np.array(sorted(NOISE_WEIGHTS), dtype="int64")
        cum = np.cumsum([NOISE_WEIGHTS[n] for n in noises])
        cum = cum / cum[-1]
        out[big] = x[big] + noises[np.minimum(np.searchsorted(cum, u[big], side="right"), len(noises) - 1)]
    return out


def protect_counts(counts: np.ndarray | pd.Series | Sequence[float], key_sums: np.ndarray | pd.Series | Sequence[int],
                   role: str | None) -> np.ndarray:
    """**The** disclosure control of incident counts: exact for cleared roles, the p-table's
    published value (:func:`perturb`) for every other role.

    Every incident count a role without clearance can obtain (map at every resolution and filter,
    KPIs, trends, a hexagon's months, zone totals, lighting inputs, school exposure, services,
    exports, CLI) is computed from the stored rows with its key sum and passes through here.
    """
    from geo.access.privacy import can_see_exact  # privacy re-exports this module's names

    x = np.nan_to_num(np.asarray(counts, dtype="float64"), nan=0.0).round().astype("int64")
    if can_see_exact(role):
        return x
    return perturb(x, key_sums)


def protect_columns(frame: pd.DataFrame, columns: Sequence[str], role: str | None, *,
                    keys: dict[str, str] | None = None) -> pd.DataFrame:
    """A copy of ``frame`` whose count ``columns`` are protected for ``role``; each column's key
    sums are in ``<column>_key`` (or ``keys[column]``). Key columns are dropped for roles without
    clearance' copies only when asked by the caller; they are kept here (they are never shown)."""
    out = frame.copy()
    for col in columns:
        key_col = (keys or {}).get(col, f"{col}_key")
        if key_col not in out.columns:
            raise KeyError(f"manca la colonna delle chiavi {key_col!r} per {col!r}")
        out[col] = protect_counts(out[col].to_numpy(), out[key_col].to_numpy(), role)
    return out


def protect_total(counts: pd.Series | np.ndarray, key_sums: pd.Series | np.ndarray, role: str | None) -> int:
    """The protected total of disjoint counts (their true sum, keyed by the combined key)."""
    total = int(np.nan_to_num(np.asarray(counts, dtype="float64"), nan=0.0).sum())
    return int(protect_counts([total], [combine_keys(key_sums)], role)[0])


def protected_note() -> str:
    """The Italian note shown next to protected figures (true to the p-table in use: the ranges
    come from :func:`preimage`)."""
    t = threshold()
    small = "1" if t == 2 else f"da 1 a {t - 1}"
    z0, z1 = preimage(0)
    s0, s1 = preimage(t)
    return (f"Conteggi protetti con il metodo della chiave di cella (art. 3 del Patto): nessun valore pubblicato "
            f"è {small}; da {t + MAX_NOISE} in su un valore differisce da quello vero di al massimo {MAX_NOISE}, "
            f"0 vuol dire da {z0} a {z1} delitti e {t} da {s0} a {s1}; gli stessi delitti danno sempre lo stesso "
            f"valore.")


#: :func:`protected_note` for the configured threshold.
PROTECTED_NOTE = protected_note()
