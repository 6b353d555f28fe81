"""Reports: the Comuni's degradation reports (pact art. 4 and 8).

The report workflow: filing, status transitions, comments, photos, duplicates, the CPOSP
agenda (:mod:`~geo.reports.workflow`).
"""

__all__ = ["workflow"]
