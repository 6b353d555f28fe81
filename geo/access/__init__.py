"""Access: who may see and do what.

Disclosure control: the cell-key method (:mod:`~geo.access.disclosure`), its attacker
(:mod:`~geo.access.disclosure_audit`), roles and number formats (:mod:`~geo.access.privacy`); the
role x action matrix (:mod:`~geo.access.permissions`), local accounts and sign-in
(:mod:`~geo.access.auth`), the audit log (:mod:`~geo.access.audit`). Imports :mod:`geo.data`.
"""

__all__ = ["audit", "auth", "disclosure", "disclosure_audit", "permissions", "privacy"]
