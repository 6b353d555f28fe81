"""Composite priority: a weighted sum of the indicator scores, with weight presets for the points
of view at the CPOSP table and a decomposition of every score into per-indicator contributions.

``priority = 100 · Σ_k w_k · s_k`` with ``s_k`` in [0, 1] (:func:`geo.zones.indicators.normalise`)
and weights summing to 1, so the priority is in points from 0 to 100 and the contribution of
indicator ``k`` is ``100 · w_k · s_k``: contributions add up exactly to the score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.zones.indicators import INDICATOR_KEYS, INDICATORS


@dataclass(frozen=True)
class Preset:
    """A named set of weights (relative; normalised to sum 1 when used)."""

    key: str
    label: str
    description: str
    weights: Mapping[str, float]


#: Weight presets. They are starting points for the discussion at the CPOSP table, chosen to
#: reflect each party's mandate in the pact (assumption, to be tuned by the committee):
#: Prefettura - public order and crime (art. 3, 9); Comune - decorum and degraded areas
#: (art. 4, 8), lighting (art. 5); social inclusion - homeless people and services (art. 14),
#: schools (art. 11), confiscated assets (art. 4, 8); balanced - equal weights.
PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        Preset(
            "sicurezza", "Sicurezza (Prefettura)",
            "Delitti e loro gravità, fascia notturna, illuminazione.",
            {"harm_rate": 25, "harm_density": 25, "night_share": 15, "reports": 5, "lighting_deficit": 10,
             "schools": 10, "homeless": 5, "service_distance": 0, "confiscated": 0, "population": 5},
        ),
        Preset(
            "decoro", "Decoro urbano (Comune)",
            "Segnalazioni di degrado, illuminazione, marginalità visibile.",
            {"harm_rate": 5, "harm_density": 10, "night_share": 5, "reports": 35, "lighting_deficit": 20,
             "schools": 5, "homeless": 10, "service_distance": 0, "confiscated": 5, "population": 5},
        ),
        Preset(
            "inclusione", "Inclusione sociale",
            "Persone senza dimora e distanza dai servizi, scuole, beni confiscati da riutilizzare.",
            {"harm_rate": 5, "harm_density": 5, "night_share": 0, "reports": 10, "lighting_deficit": 5,
             "schools": 15, "homeless": 25, "service_distance": 15, "confiscated": 10, "population": 10},
        ),
        Preset(
            "bilanciato", "Bilanciato",
            "Tutti gli indicatori con lo stesso peso.",
            dict.fromkeys(INDICATOR_KEYS, 10),
        ),
    )
}
DEFAULT_PRESET = "bilanciato"


def preset_weights(key: str) -> pd.Series:
    """Normalised weights of a preset; ``KeyError`` with the valid names otherwise."""
    if key not in PRESETS:
        raise KeyError(f"Profilo di pesi sconosciuto '{key}'. Profili validi: {', '.join(PRESETS)}")
    return normalise_weights(PRESETS[key].weights)


def normalise_weights(weights: Mapping[str, float] | pd.Series) -> pd.Series:
    """Weights over :data:`INDICATOR_KEYS` (missing ones are zero), scaled to sum 1.

    Raises
    ------
    ValueError
        For an unknown indicator, a negative or non-finite weight, or all weights zero.
    """
    weights = dict(weights)
    unknown = sorted(set(weights) - set(INDICATOR_KEYS))
    if unknown:
        raise ValueError(f"Indicatori sconosciuti: {', '.join(unknown)}. Validi: {', '.join(INDICATOR_KEYS)}")
    w = pd.Series({k: float(weights.get(k, 0.0)) for k in INDICATOR_KEYS})
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("I pesi devono essere numeri non negativi.")
    total = w.sum()
    if total <= 0:
        raise ValueError("Almeno un peso deve essere maggiore di zero.")
    return w / total


def parse_weights(text: str) -> dict[str, float]:
    """Parse indicator weights written as ``"harm_rate=2, reports=1.5"``.

    Items are separated by commas, or by semicolons when the values use a decimal comma
    (``"harm_rate=2; reports=1,5"``). Keys are the codes of :data:`INDICATOR_KEYS` (checked later
    by :func:`normalise_weights`).

    Raises
    ------
    ValueError
        With an Italian message for a malformed item.
    """
    sep = ";" if ";" in text else ","
    out: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(sep))):
        if "=" not in item:
            raise ValueError(f"Peso non valido '{item}': usare indicatore=valore, per esempio harm_rate=2.")
        key, value = (part.strip() for part in item.split("=", 1))
        try:
            out[key] = float(value.replace(",", "."))
        except ValueError:
            raise ValueError(f"Valore del peso non numerico per '{key}': {value}") from None
    return out


def contributions(scores: pd.DataFrame, weights: Mapping[str, float] | pd.Series) -> pd.DataFrame:
    """Per-indicator contributions in points (``100 · w_k · s_k``); rows add up to the priority."""
    w = normalise_weights(weights)
    return scores[list(INDICATOR_KEYS)].mul(w * 100.0, axis=1)


def cell_contributions(
    scores: pd.DataFrame,
    weights: Mapping[str, float] | pd.Series,
    available: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per-indicator contributions in points with the weights renormalised, in each row, over the
    indicators ``available`` there (:func:`geo.zones.indicators.indicator_availability`):
    ``100 · w_k · a_k · s_k / Σ_j w_j · a_j``. Rows add up to the priority (0-100); a row where no
    weighted indicator is available scores 0. Without ``available`` it equals
    :func:`contributions`."""
    w = normalise_weights(weights)
    s = scores[list(INDICATOR_KEYS)].to_numpy(dtype=np.float64)
    if available is None:
        return pd.DataFrame(s * (w.to_numpy() * 100.0), index=scores.index, columns=list(INDICATOR_KEYS))
    a = available[list(INDICATOR_KEYS)].to_numpy(dtype=np.float64)
    den = a @ w.to_numpy()
    scale = np.divide(100.0, den, out=np.zeros_like(den), where=den > 0)
    return pd.DataFrame(s * a * w.to_numpy() * scale[:, None], index=scores.index, columns=list(INDICATOR_KEYS))


def effective_weights(weights: Mapping[str, float] | pd.Series, available: pd.DataFrame | None) -> pd.Series:
    """The weights where every indicator that is absent from the whole territory has dropped
    out, renormalised to sum 1 (what the page shows as the weights in use)."""
    w = normalise_weights(weights)
    if available is None:
        return w
    present = available[list(INDICATOR_KEYS)].any(axis=0)
    kept = w.where(present, 0.0)
    return kept / kept.sum() if kept.sum() > 0 else kept


def priority_scores(scores: pd.DataFrame, weights: Mapping[str, float] | pd.Series) -> pd.Series:
    """Priority in points (0-100) of each row of a score table."""
    w = normalise_weights(weights).to_numpy()
    return pd.Series(scores[list(INDICATOR_KEYS)].to_numpy() @ w * 100.0, index=scores.index, name="priority")


def top_drivers(contrib: pd.Series | Mapping[str, float], n: int = 3) -> list[tuple[str, float]]:
    """The ``n`` indicators that contribute most (positive contributions only), as
    ``(key, points)`` pairs, largest first; ties broken by the order of :data:`INDICATOR_KEYS`."""
    items = [(k, float(contrib[k])) for k in INDICATOR_KEYS if float(contrib[k]) > 0]
    items.sort(key=lambda kv: (-kv[1], INDICATOR_KEYS.index(kv[0])))
    return items[:n]


def drivers_text(contrib: pd.Series | Mapping[str, float], n: int = 3) -> str:
    """Italian one-liner of the top drivers, e.g. "Degrado 12,3 · Notte 8,1"."""
    parts = [f"{INDICATORS[k].short} {v:.1f}".replace(".", ",") for k, v in top_drivers(contrib, n)]
    return " · ".join(parts) if parts else "–"


def perturbed_weights(
    weights: Mapping[str, float] | pd.Series, *, draws: int, spread: float = 0.2, seed: int = 0
) -> np.ndarray:
    """Monte-Carlo weights: each weight multiplied by an independent U(1 − spread, 1 + spread)
    factor, then renormalised. Shape ``(draws, len(INDICATOR_KEYS))``; zero weights stay zero."""
    w = normalise_weights(weights).to_numpy()
    rng = np.random.default_rng(seed)
    factors = rng.uniform(1.0 - spread, 1.0 + spread, size=(draws, len(w)))
    out = factors * w
    return out / out.sum(axis=1, keepdims=True)
