"""Lighting: the Regione's investment planner (pact art. 5).

Need per hexagon (:mod:`~geo.lighting.need`), intervention costs and energy
(:mod:`~geo.lighting.costs`), effects with citations (:mod:`~geo.lighting.effects`), the exact
MILP plan (:mod:`~geo.lighting.plan`) and its report.
"""

__all__ = ["costs", "effects", "need", "plan", "report"]
