"""The cell-key method (geo.access.disclosure) and the key sums of the store."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from geo.access import disclosure
from geo.data import hexgrid


def test_ptable_rows_are_unbiased_never_small_and_bounded():
    table = disclosure.ptable()
    t = disclosure.threshold()
    assert not table["published"].between(1, t - 1).any()
    for x, rows in table.groupby("true"):
        assert rows["probability"].sum() == pytest.approx(1)
        assert (rows["probability"] * rows["published"]).sum() == pytest.approx(x)
        if x >= t + disclosure.MAX_NOISE:
            assert (rows["published"] - x).abs().max() <= disclosure.MAX_NOISE


def test_perturb_is_deterministic_never_small_and_within_its_preimage():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 40, 20_000)
    keys = rng.integers(0, disclosure.KEY_MODULUS, 20_000)
    y = disclosure.perturb(x, keys)
    assert (disclosure.perturb(x, keys) == y).all()
    assert not ((y >= 1) & (y < disclosure.threshold())).any()
    assert (y[x == 0] == 0).all()
    for v in np.unique(y):
        lo, hi = disclosure.preimage(int(v))
        assert x[y == v].min() >= lo
        assert x[y == v].max() <= hi
    # the preimages are tight: every true value in them can give the published one
    table = disclosure.ptable()
    last = int(table["true"].max())

    def possible(true: int, published: int) -> bool:
        if true == 0:
            return published == 0
        if true <= last:
            return bool(((table["true"] == true) & (table["published"] == published)).any())
        return (published - true) in disclosure.NOISE_WEIGHTS

    for v in (0, 3, 4, 5, 10, 30):
        lo, hi = disclosure.preimage(v)
        assert all(possible(t, v) for t in range(lo, hi + 1)), v
        assert lo == 0 or not possible(lo - 1, v)
        assert not possible(hi + 1, v)
    # unbiased over the keys
    big = x == 20
    assert y[big].mean() == pytest.approx(20, abs=0.1)
    with pytest.raises(ValueError, match="mai pubblicato"):
        disclosure.preimage(1)


def test_cleared_roles_see_exact_counts():
    counts, keys = np.array([1, 2, 7, 0]), np.array([5, 10**9, 3 * 10**9, 0])
    assert (disclosure.protect_counts(counts, keys, "forze_polizia") == counts).all()
    assert (disclosure.protect_counts(counts, keys, "prefettura") == counts).all()
    shown = disclosure.protect_counts(counts, keys, "regione")
    assert not np.isin(shown, [1, 2]).any()
    assert (disclosure.protect_counts(counts, keys, None) == shown).all()  # unknown roles are not cleared


def test_protected_note_tells_the_truth():
    note = disclosure.PROTECTED_NOTE
    assert "da 1 a 2" in note
    assert "0 vuol dire da 0 a 5" in note
    assert "3 da 1 a 6" in note


def test_key_of_a_count_depends_only_on_its_records(mc_store):
    """Keys add up: the same records give the same key whichever resolution or filter adds them."""
    from geo.data.storage import Store

    cells = mc_store.cell_context(10)["cell"].to_numpy()[:40]
    rows = [{"cell": int(c), "month": date(2024, 1 + i % 12, 1), "category": "rapine",
             "time_band": "notte" if i % 2 else "giorno", "outdoor": True, "count": 1 + i % 3}
            for i, c in enumerate(cells)]
    frame = pd.DataFrame(rows).assign(synthetic=True, source="test", import_id=None)
    with mc_store.transaction() as cur:
        Store.write_frame(cur, "incidents", frame)
    fine = mc_store.incidents_by_cell(10)
    fine["r8"] = hexgrid.cell_to_parent(fine["cell"].to_numpy(), 8)
    coarse = mc_store.incidents_by_cell(8).set_index("cell")
    by8 = fine.groupby("r8")["incidents_key"].apply(disclosure.combine_keys)
    assert (by8 == coarse.loc[by8.index, "incidents_key"]).all()
    night = mc_store.incidents_by_cell(8, time_band="notte").set_index("cell")
    assert (night["incidents_key"] == coarse.loc[night.index, "night_key"]).all()
    assert fine["incidents_key"].nunique() == len(fine)
    # the secret is kept: reopening gives the same keys
    again = mc_store.incidents_by_cell(10).set_index("cell")["incidents_key"]  # the store's row order is not fixed
    assert (again.loc[fine["cell"]].to_numpy() == fine["incidents_key"].to_numpy()).all()


def test_another_secret_gives_other_keys(mc_store, monkeypatch):
    from geo.data.storage import CELL_KEY_SECRET_ENV, Store

    cell = int(mc_store.cell_context(10)["cell"].iloc[0])
    frame = pd.DataFrame([{"cell": cell, "month": date(2024, 1, 1), "category": "rapine", "time_band": "notte",
                           "outdoor": True, "count": 2, "synthetic": True, "source": "t", "import_id": None}])
    with mc_store.transaction() as cur:
        Store.write_frame(cur, "incidents", frame)
    first = int(mc_store.incidents_by_cell(10)["incidents_key"].iloc[0])
    assert mc_store.get_meta("cell_key_secret")  # created once, kept in the database
    path = mc_store.path
    mc_store.close()
    with Store(path, read_only=True) as same:
        assert int(same.incidents_by_cell(10)["incidents_key"].iloc[0]) == first
    monkeypatch.setenv(CELL_KEY_SECRET_ENV, "another")
    with Store(path, read_only=True) as other:
        assert int(other.incidents_by_cell(10)["incidents_key"].iloc[0]) != first


def test_homeless_priority_areas_use_protected_counts(tmp_path):
    from geo.services import homeless
    from tests.unit.tiny_store import build_tiny_store

    store = build_tiny_store(tmp_path / "tiny.duckdb")
    with store.transaction() as cur:  # two drug offences: a small count
        cur.execute("UPDATE incidents SET category = 'stupefacenti' WHERE category = 'rapine'")
    exact = homeless.marginality_incidents(store, role=None)
    shown = homeless.marginality_incidents(store, role="comune")
    raw = store.incidents_by_cell(homeless.GAP_RES, categories=list(homeless.MARGINALITY_INCIDENTS))
    store.close()
    assert list(shown.columns) == ["cell", "incidents"]  # no key sums
    assert exact["incidents"].tolist() == raw["incidents"].tolist()
    expected = disclosure.protect_counts(raw["incidents"], raw["incidents_key"], "comune")
    assert shown["incidents"].tolist() == expected.tolist()
    assert not shown["incidents"].between(1, 2).any()
