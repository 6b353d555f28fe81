"""Did it work? Evaluation of an intervention against matched comparison areas.

Method (stated in :attr:`Evaluation.method_text`):

- **Treated area** A: the intervention's cells. **Buffer** B: the ring of cells within
  ``ring_k`` steps (``h3.grid_disk``) minus A, where displacement or diffusion of benefits would
  show. **Comparison** C: cells neither treated nor in the ring, matched on the pre-period level
  and trend: each treated cell takes its ``k`` nearest neighbours (scikit-learn
  ``NearestNeighbors``) on the standardized pre-period mean and slope of the monthly counts.
- **Estimate**: ratio-of-rates difference in differences,
  ``R = (A_post/A_pre) / (C_post/C_pre)`` (per-month rates); the effect is ``R − 1``.
- **Inference**: a studentized permutation over **placebo areas**. statsmodels (a negative
  binomial model) is not available, so the log ratio's standard error comes from a negative-binomial
  (NB2) variance ``Var(y) = mu + alpha * mu^2`` per cell-month, with ``alpha`` estimated by moments
  from every cell's pre-period months (overdispersion); by the delta method
  ``Var(log S) = 1/S + alpha * sum_c S_c^2 / (n * S^2)`` for a group total ``S`` over ``n`` months
  (``S_c``: the cells' totals), summed over the four groups (A, C; before, after). **Placebo areas**
  are made of one stand-in per treated cell (drawn among its ``POOL_PER_CELL`` nearest candidates
  on the matching features, outside A and B, all different), so they share the treated area's mix
  of levels and trends; each gets its own matched comparison (re-matched exactly as A was) and the
  same pseudo-treatment date. Their studentized log ratios ``t = log R_placebo / se_placebo``
  (not re-centred: they share comparison cells with the estimate, and a systematic departure from
  zero of the matched design is carried into the interval) give the 95 % interval
  ``log R - t_(97.5 %) * se, log R - t_(2.5 %) * se`` with ``se`` computed on the treated area's own
  counts, and the p-value ``(1 + #{|t| >= |log R| / se}) / (n + 1)``.
  Why: raw placebo quantiles, with the treated area's comparison cells kept, were too narrow: they
  missed the matching's own variability and, under a real effect, that a fall in the treated
  counts widens the log ratio's Poisson variance (``1/S`` grows); their intervals covered a planted
  effect only 84-91 % of the time (``scripts/bench_interventions.py``).
- **Displacement**: the Weighted Displacement Quotient (Bowers & Johnson 2003),
  ``WDQ = (B_a/C_a − B_b/C_b) / (A_a/C_a − A_b/C_b)``; > 0 diffusion of benefits, < 0
  displacement (|WDQ| > 1: more displaced than gained), meaningful only when A fell relative to C.
- **Regression to the mean**: a warning when the treated area's pre-period level is in the top
  fifth of all cells (chosen for being high); the matched comparison is the guard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import h3
import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from geo.access.privacy import CLEARED_ROLES, format_decimal, format_percent
from geo.data.schemas import INCIDENT_CATEGORIES
from geo.data.storage import Store

MIN_PRE, MIN_POST = 6, 6
RING_K = 2
K_MATCH = 5
N_PLACEBO = 199
RTM_QUANTILE = 0.8
POOL_PER_CELL = 20

#: Crime families of the evaluation (the categories they add up).
FAMILIES: dict[str, tuple[str, ...]] = {
    "tutti": tuple(INCIDENT_CATEGORIES),
    "furti": tuple(c for c in INCIDENT_CATEGORIES if c.startswith("furti")),
    "rapine": ("rapine",),
    "violenza": ("lesioni_minacce",),
    "danneggiamenti": ("danneggiamenti",),
    "altri": ("stupefacenti", "truffe_frodi", "altro"),
}
FAMILY_LABELS = {"tutti": "Tutti i delitti", "furti": "Furti", "rapine": "Rapine",
                 "violenza": "Lesioni, percosse e minacce", "danneggiamenti": "Danneggiamenti",
                 "altri": "Altri delitti"}

METHOD_TEXT = (
    "Metodo: differenza nelle differenze come rapporto tra tassi (area trattata contro aree di confronto "
    "abbinate per livello e tendenza del periodo precedente, vicini più prossimi su media e pendenza "
    "standardizzate); intervallo al 95 % e p-value per permutazione studentizzata su aree placebo: ogni area "
    "placebo sostituisce ciascun esagono trattato con uno dei suoi esagoni più simili, riceve un proprio "
    "confronto abbinato e lo stesso pseudo-trattamento; ogni rapporto è diviso per il suo errore standard da "
    "un modello binomiale negativo (sovradispersione stimata sui mesi precedenti), così l'intervallo si adatta "
    "ai conteggi dell'area trattata anche quando l'effetto è reale (copertura verificata per simulazione, "
    "scripts/bench_interventions.py); spostamento nell'anello circostante con il Weighted Displacement "
    "Quotient (Bowers e Johnson 2003)."
)


class EvaluationError(ValueError):
    """An evaluation that cannot be done; ``str(exc)`` is an Italian sentence."""


@dataclass
class Evaluation:
    ratio: float
    low: float
    high: float
    p_value: float
    wdq: float | None
    rtm_warning: bool
    n_pre: int
    n_post: int
    n_treated: int
    n_control: int
    n_buffer: int
    totals: dict[str, float]
    series: pd.DataFrame = field(repr=False)
    method_text: str = METHOD_TEXT
    se: float = float("nan")                     # standard error of log R (negative binomial, delta method)
    placebo_t: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)  # studentized placebos

    @property
    def effect(self) -> float:
        return self.ratio - 1.0

    @property
    def covers_zero(self) -> bool:
        return self.low <= 1.0 <= self.high

    def lines(self, role: str | None = None) -> list[str]:
        """Italian sentences; only estimates and intervals (never counts) unless ``role`` is cleared."""
        out = [f"Effetto stimato: {format_percent(self.effect, 0)} (intervallo al 95 %: "
               f"{format_percent(self.low - 1, 0)}; {format_percent(self.high - 1, 0)}), "
               f"p-value {format_decimal(self.p_value, 3)}.",
               f"Periodo precedente {self.n_pre} mesi, successivo {self.n_post} mesi; {self.n_treated} esagoni "
               f"trattati, {self.n_control} di confronto, {self.n_buffer} nell'anello."]
        if self.wdq is None:
            out.append("WDQ non calcolabile: l'area trattata non è calata rispetto al confronto.")
        else:
            kind = "diffusione dei benefici" if self.wdq > 0 else "spostamento"
            out.append(f"WDQ {format_decimal(self.wdq, 2)} ({kind} nell'anello circostante).")
        if self.rtm_warning:
            out.append("Attenzione: l'area era tra le più alte prima dell'intervento; parte del calo può essere "
                       "regressione verso la media (il confronto abbinato serve a contenerla).")
        if role in CLEARED_ROLES:
            t = self.totals
            out.append(f"Conteggi: trattata {t['A_b']:.0f} → {t['A_a']:.0f}, anello {t['B_b']:.0f} → "
                       f"{t['B_a']:.0f}, confronto {t['C_b']:.0f} → {t['C_a']:.0f}.")
        out.append(self.method_text)
        return out


def wdq(a_b: float, a_a: float, b_b: float, b_a: float, c_b: float, c_a: float) -> float | None:
    """Weighted Displacement Quotient (Bowers & Johnson 2003); None when the success measure
    ``A_a/C_a − A_b/C_b`` is not negative (nothing to weigh) or a count of C is zero."""
    if c_a <= 0 or c_b <= 0:
        return None
    success = a_a / c_a - a_b / c_b
    if success >= 0:
        return None
    return float((b_a / c_a - b_b / c_b) / success)


def ring_cells(treated: list[int], k: int = RING_K) -> set[int]:
    found: set[int] = set()
    for cell in treated:
        found.update(h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(int(cell)), k))
    return found - {int(c) for c in treated}


def _features(pre: np.ndarray) -> np.ndarray:
    t = np.arange(pre.shape[1], dtype=float)
    t = t - t.mean()
    slope = pre @ t / (t @ t)
    return np.column_stack([pre.mean(axis=1), slope])


def _log_ratio(a_pre: float, a_post: float, c_pre: float, c_post: float) -> float:
    # +0.5 keeps a zero count finite (the usual continuity correction)
    return float(np.log((a_post + 0.5) / (a_pre + 0.5)) - np.log((c_post + 0.5) / (c_pre + 0.5)))


def overdispersion(pre: np.ndarray) -> float:
    """NB2 ``alpha`` by moments over cells: ``sum(var_c - mean_c) / sum(mean_c^2)`` (0 if Poisson-like)."""
    if pre.shape[1] < 2:
        return 0.0
    m, v = pre.mean(axis=1), pre.var(axis=1, ddof=1)
    denom = float((m ** 2).sum())
    return max(0.0, float((v - m).sum()) / denom) if denom > 0 else 0.0


def _log_var(rows: np.ndarray, alpha: float) -> float:
    """Delta-method variance of ``log(S + 0.5)`` for ``S = rows.sum()`` (rows: cells x months, NB2)."""
    total = float(rows.sum())
    cell_totals = rows.sum(axis=1)
    n = max(rows.shape[1], 1)
    return 1.0 / (total + 0.5) + alpha * float((cell_totals ** 2).sum()) / (n * (total + 0.5) ** 2)


def evaluate_matrix(counts: pd.DataFrame, treated: list[int], start: date, *, ring_k: int = RING_K,
                    k_match: int = K_MATCH, n_placebo: int = N_PLACEBO, seed: int = 0) -> Evaluation:
    """Evaluate on ``counts`` (index: cells, columns: months as dates, values: monthly counts)."""
    months = [pd.Timestamp(m).date() for m in counts.columns]
    pre_cols = [i for i, m in enumerate(months) if m < start]
    post_cols = [i for i, m in enumerate(months) if m >= start]
    if len(pre_cols) < MIN_PRE or len(post_cols) < MIN_POST:
        raise EvaluationError(
            f"Servono almeno {MIN_PRE} mesi prima e {MIN_POST} mesi dopo l'inizio dell'intervento: ci sono "
            f"{len(pre_cols)} mesi prima e {len(post_cols)} dopo.")
    cells = counts.index.to_numpy(dtype=np.int64)
    values = counts.to_numpy(dtype=float)
    treated_set = {int(c) for c in treated} & set(cells.tolist())
    if not treated_set:
        raise EvaluationError("Nessun esagono dell'intervento ha dati sugli episodi.")
    buffer_set = ring_cells(sorted(treated_set), ring_k) & set(cells.tolist())
    is_t = np.isin(cells, list(treated_set))
    is_b = np.isin(cells, list(buffer_set))
    cand = np.flatnonzero(~is_t & ~is_b)
    if len(cand) < 2 * len(treated_set) + 5:
        raise EvaluationError("Troppo pochi esagoni di confronto fuori dall'area e dall'anello.")
    pre, post = values[:, pre_cols], values[:, post_cols]
    feats = _features(pre)
    mu, sd = feats[cand].mean(axis=0), feats[cand].std(axis=0)
    sd[sd == 0] = 1.0
    z = (feats - mu) / sd
    n_t = int(is_t.sum())
    k = min(len(cand), k_match)
    nn = NearestNeighbors(n_neighbors=k).fit(z[cand])
    _, idx = nn.kneighbors(z[is_t])
    control = np.unique(cand[idx.ravel()])
    # placebo stand-ins: for each treated cell, its POOL_PER_CELL nearest candidates (so that a
    # placebo area has the treated area's mix of levels and trends)
    per_cell = min(len(cand), max(POOL_PER_CELL, 2 * k, n_t))  # >= n_t: a free stand-in is always left
    fitted = NearestNeighbors(n_neighbors=per_cell).fit(z[cand])
    _, near = fitted.kneighbors(z[is_t])
    stand_ins = cand[near]                                   # n_t x per_cell
    pool = np.unique(stand_ins)
    # each pool cell's nearest candidates, enough to skip the other placebo cells when re-matching
    _, pool_nbrs = fitted.kneighbors(z[pool], n_neighbors=min(len(cand), k + n_t))
    pool_nbrs = cand[pool_nbrs]
    pool_pos = {int(c): j for j, c in enumerate(pool)}

    def placebo_area(rng: np.random.Generator) -> np.ndarray:
        """One stand-in per treated cell, all different."""
        taken: list[int] = []
        for row in stand_ins[rng.permutation(n_t)]:
            free = [int(c) for c in row if int(c) not in taken]
            taken.append(free[int(rng.integers(len(free)))])
        return np.asarray(taken, dtype=cand.dtype)

    def rematch(fake: np.ndarray) -> np.ndarray:
        """The placebo area's own matched comparison (k nearest candidates outside it), as for A."""
        taken = set(fake.tolist())
        chosen = [c for f in fake for c in [x for x in pool_nbrs[pool_pos[int(f)]] if x not in taken][:k]]
        return np.unique(np.asarray(chosen, dtype=cand.dtype))

    def sums(mask_or_idx) -> tuple[float, float]:
        return float(pre[mask_or_idx].sum()), float(post[mask_or_idx].sum())

    alpha = overdispersion(pre)

    def se(treat, ctrl) -> float:
        return float(np.sqrt(sum(_log_var(part[sel], alpha) for part in (pre, post) for sel in (treat, ctrl))))

    a_b, a_a = sums(is_t)
    b_b, b_a = sums(is_b)
    c_b, c_a = sums(control)
    est = _log_ratio(a_b, a_a, c_b, c_a)
    est_se = se(is_t, control)
    rng = np.random.default_rng(seed)
    placebo = np.empty(n_placebo)
    placebo_se = np.empty(n_placebo)
    for i in range(n_placebo):
        fake = placebo_area(rng)
        ctrl = rematch(fake)
        placebo[i] = _log_ratio(*sums(fake), *sums(ctrl))
        placebo_se[i] = se(fake, ctrl)
    t_stats = placebo / placebo_se  # not centred: see the module docstring
    lo_q, hi_q = np.quantile(t_stats, [0.025, 0.975])
    p = (1 + int((np.abs(t_stats) >= abs(est) / est_se).sum())) / (n_placebo + 1)
    level = pre.mean(axis=1)
    rtm = bool(level[is_t].mean() >= np.quantile(level, RTM_QUANTILE))
    series = pd.DataFrame({
        "month": pd.to_datetime(months),
        "trattata": values[is_t].mean(axis=0),
        "confronto": values[control].mean(axis=0),
    })
    return Evaluation(
        ratio=float(np.exp(est)), low=float(np.exp(est - hi_q * est_se)), high=float(np.exp(est - lo_q * est_se)),
        p_value=float(p),
        wdq=wdq(a_b, a_a, b_b, b_a, c_b, c_a), rtm_warning=rtm, n_pre=len(pre_cols), n_post=len(post_cols),
        n_treated=n_t, n_control=len(control), n_buffer=int(is_b.sum()),
        totals={"A_b": a_b, "A_a": a_a, "B_b": b_b, "B_a": b_a, "C_b": c_b, "C_a": c_a}, series=series,
        se=est_se, placebo_t=t_stats)


def count_matrix(store: Store, res: int, *, categories=None) -> pd.DataFrame:
    """Monthly incidents per cell at ``res`` (every cell of the territory, zeros included)."""
    raw = store.incidents_series(by=("cell",), res=res, categories=list(categories) if categories else None)
    period = store.period()
    if period is None:
        raise EvaluationError("Non ci sono episodi nel database.")
    months = pd.date_range(period[0], period[1], freq="MS")
    cells = store.cell_context(res)["cell"].astype("int64")
    frame = raw.assign(month=pd.to_datetime(raw["month"])).pivot_table(
        index="cell", columns="month", values="incidents", aggfunc="sum", fill_value=0)
    return frame.reindex(index=sorted(cells), columns=months, fill_value=0).fillna(0)


def evaluate(store: Store, cells: list[int], res: int, start: date, *, family: str = "tutti",
             seed: int = 0, n_placebo: int = N_PLACEBO) -> Evaluation:
    """Evaluate an intervention's cells from the store's monthly counts (one crime family)."""
    if family not in FAMILIES:
        raise EvaluationError(f"Famiglia di reati sconosciuta: {family}.")
    counts = count_matrix(store, res, categories=FAMILIES[family])
    return evaluate_matrix(counts, cells, start, seed=seed, n_placebo=n_placebo)


def by_family(store: Store, cells: list[int], res: int, start: date, *, seed: int = 0,
              n_placebo: int = 99) -> pd.DataFrame:
    """One row per crime family: ``famiglia``, ``effetto``, ``basso``, ``alto``, ``p``, ``wdq`` (or a note)."""
    rows = []
    for fam in FAMILIES:
        try:
            ev = evaluate(store, cells, res, start, family=fam, seed=seed, n_placebo=n_placebo)
        except EvaluationError as exc:
            rows.append({"famiglia": FAMILY_LABELS[fam], "effetto": None, "basso": None, "alto": None,
                         "p": None, "wdq": None, "nota": str(exc)})
            continue
        rows.append({"famiglia": FAMILY_LABELS[fam], "effetto": ev.effect, "basso": ev.low - 1,
                     "alto": ev.high - 1, "p": ev.p_value, "wdq": ev.wdq, "nota": ""})
    return pd.DataFrame(rows)


def parse_cell(text: str) -> int:
    """An H3 cell given as hexadecimal text or integer; ``ValueError`` in Italian."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if not h3.is_valid_cell(text):
        raise ValueError(f"Esagono H3 non valido: '{text}'.")
    return h3.str_to_int(text)
