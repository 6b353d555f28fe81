"""Helpers for the tests of accounts, permissions, audit and reports on the Massa-Carrara territory.

``cheap_hasher`` swaps :data:`geo.access.auth.HASHER` for a fast argon2id (tests create many accounts;
the production parameters are tested on their own); ``demo_users`` creates the demo accounts and
returns them as :class:`~geo.access.permissions.User`; ``points_in`` gives the centres of inhabited
resolution-10 cells of a comune, 40 cells apart, so that reports placed there are not duplicates.
"""

from __future__ import annotations

import h3
from argon2 import PasswordHasher

from geo.access import auth
from geo.data.storage import Store

MASSA, CARRARA, AULLA = "045010", "045003", "045001"
SCRIPT = "<script>alert('x')</script><img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://evil.example","clic")'
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def demo_users(store: Store) -> dict:
    """Create the demo accounts (if missing) and return them by username."""
    auth.create_demo_accounts(store)
    return {a.username: auth.get_user(store, a.username) for a in auth.demo_accounts(store.comuni())}


def points_in(store: Store, code: str, n: int = 10, *, step: int = 40) -> list[tuple[float, float]]:
    """``n`` (lat, lon) centres of inhabited cells of comune ``code``, ``step`` cells apart in the
    order of residents (hundreds of metres apart in practice)."""
    cells = store.query("SELECT cell FROM cells WHERE pro_com_t = ? AND residents > 0 ORDER BY residents DESC, cell",
                        [code])["cell"].tolist()
    chosen = cells[::step][:n]
    if len(chosen) < n:
        raise ValueError(f"too few inhabited cells in {code}")
    return [h3.cell_to_latlng(h3.int_to_str(int(c))) for c in chosen]
