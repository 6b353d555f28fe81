"""Services: schools and homeless services (pact art. 11 and 14).

Exposure around schools (:mod:`~geo.services.schools`), the census of services for homeless
people and their coverage (:mod:`~geo.services.homeless`), opening hours
(:mod:`~geo.services.opening_hours`).
"""

__all__ = ["homeless", "opening_hours", "schools"]
