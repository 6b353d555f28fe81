"""Widgets of the Videosorveglianza page: the plan form with euro figures in Italian format
(``150.000 €``), since Streamlit's number input prints ``150000.00``."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from geo.access.privacy import format_int
from geo.cameras.evidence import SETTINGS, CameraCost

BUDGET_MAX = 1_000_000
BUDGET_STEP = 10_000
BUDGET_DEFAULT = 150_000
COST_MIN, COST_MAX, COST_STEP = 500, 100_000, 500


def euro(value: float) -> str:
    """``150000`` → ``"150.000 €"``."""
    return f"{format_int(value)} €"


def euro_options(lo: int, hi: int, step: int, *extra: float) -> list[int]:
    """The choices of a euro selector: ``lo..hi`` by ``step``, plus ``extra`` (a territory's cost)."""
    return sorted({*range(lo, hi + 1, step), *(round(v) for v in extra)})


@dataclass(frozen=True)
class PlanInputs:
    budget: float
    dome: float
    fissa: float
    cap: int | None
    setting: str


def plan_form(costs: dict[str, CameraCost]) -> PlanInputs:
    """The budget, the unit costs (defaults: the territory's cost table), the cap per comune and
    the setting of the effect."""
    with st.form("piano_telecamere"):
        budget = st.select_slider("Budget", euro_options(0, BUDGET_MAX, BUDGET_STEP), value=BUDGET_DEFAULT,
                                  format_func=euro)
        a, b, c = st.columns(3)
        dome = a.select_slider("Costo dome/PTZ", euro_options(COST_MIN, COST_MAX, COST_STEP, costs["dome"].cost_eur),
                               value=round(costs["dome"].cost_eur), format_func=euro)
        fissa = b.select_slider("Costo fissa", euro_options(COST_MIN, COST_MAX, COST_STEP, costs["fissa"].cost_eur),
                                value=round(costs["fissa"].cost_eur), format_func=euro)
        cap = c.number_input("Massimo per comune (0 = nessuno)", 0, 500, 0)
        setting = st.selectbox("Contesto dell'effetto", list(SETTINGS), format_func=lambda s: SETTINGS[s].label)
        st.form_submit_button("Calcola il piano")
    return PlanInputs(float(budget), float(dome), float(fissa), int(cap) or None, setting)
