"""Overview: what the province looks like.

Per-hexagon metrics and KPIs of the integrated map (:mod:`~geo.overview.metrics`) and
trends over time (:mod:`~geo.overview.trends`).
"""

__all__ = ["metrics", "trends"]
