"""Property-based tests (hypothesis) of the cell-key protection (geo.access.disclosure;
docs/AUTH.md, *Disclosure control*): whatever the counts, keys and threshold, the published value
depends only on the cell (count, key), is never between 1 and ``t - 1``, keeps 0 at 0, lies in
its public preimage and, far enough from the threshold, within ``MAX_NOISE`` of the truth;
cleared roles see the exact counts."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.access import disclosure

FAST = settings(max_examples=150, deadline=None)
counts = st.one_of(st.integers(min_value=0, max_value=12), st.integers(min_value=0, max_value=5_000))
keys = st.integers(min_value=0, max_value=2**40)  # key sums may exceed 2**32 before the modulus
cells = st.lists(st.tuples(counts, keys), min_size=1, max_size=60)
thresholds = st.integers(min_value=2, max_value=6)


@FAST
@given(cells, thresholds)
def test_never_small_zero_stays_zero_and_bounded(pairs, t):
    x = np.array([c for c, _ in pairs])
    y = disclosure.perturb(x, [k for _, k in pairs], t=t)
    assert not ((y >= 1) & (y < t)).any()
    assert (y[x == 0] == 0).all()
    assert (y >= 0).all()
    far = x >= t + disclosure.MAX_NOISE
    assert (np.abs(y[far] - x[far]) <= disclosure.MAX_NOISE).all()
    near = (x >= 1) & ~far
    assert (y[near] <= np.maximum(x[near] + disclosure.MAX_NOISE, t)).all()


@FAST
@given(cells, st.randoms(use_true_random=False))
def test_a_cells_value_depends_only_on_its_count_and_key(pairs, rnd):
    """The same records give the same value whatever else is asked with them, and in any order."""
    x = np.array([c for c, _ in pairs])
    k = np.array([kk for _, kk in pairs], dtype="int64")
    y = disclosure.perturb(x, k)
    order = list(range(len(pairs)))
    rnd.shuffle(order)
    assert (disclosure.perturb(x[order], k[order]) == y[order]).all()
    alone = [int(disclosure.perturb([c], [kk])[0]) for c, kk in pairs]
    assert alone == y.tolist()
    # keys count modulo 2**32
    assert (disclosure.perturb(x, k + disclosure.KEY_MODULUS) == y).all()


@FAST
@given(cells)
def test_every_published_value_is_in_its_public_preimage(pairs):
    x = np.array([c for c, _ in pairs])
    y = disclosure.perturb(x, [k for _, k in pairs])
    for true, shown in zip(x, y, strict=True):
        lo, hi = disclosure.preimage(int(shown))
        assert lo <= true <= hi


@FAST
@given(cells, st.sampled_from(["prefettura", "forze_polizia"]))
def test_cleared_roles_see_the_exact_counts(pairs, role):
    x = [c for c, _ in pairs]
    assert disclosure.protect_counts(x, [k for _, k in pairs], role).tolist() == x


@FAST
@given(cells, st.sampled_from(["comune", "regione", "osservatore", None, "sconosciuto"]))
def test_other_roles_get_the_perturbed_counts(pairs, role):
    x = [c for c, _ in pairs]
    k = [kk for _, kk in pairs]
    assert disclosure.protect_counts(x, k, role).tolist() == disclosure.perturb(x, k).tolist()


@FAST
@given(st.lists(keys, min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_combined_keys_are_order_free_and_additive(parts, rnd):
    total = disclosure.combine_keys(parts)
    shuffled = list(parts)
    rnd.shuffle(shuffled)
    assert disclosure.combine_keys(shuffled) == total
    assert 0 <= total < disclosure.KEY_MODULUS
    half = len(parts) // 2
    assert disclosure.combine_keys([disclosure.combine_keys(parts[:half]), disclosure.combine_keys(parts[half:])]) \
        == total


@FAST
@given(st.lists(st.tuples(st.integers(0, 30), keys), min_size=1, max_size=30))
def test_a_total_is_protected_on_its_own_key(pairs):
    x = [c for c, _ in pairs]
    k = [kk for _, kk in pairs]
    shown = disclosure.protect_total(x, k, "comune")
    assert shown == int(disclosure.perturb([sum(x)], [disclosure.combine_keys(k)])[0])
    assert not 1 <= shown < disclosure.threshold()
