"""What the *Andamento* page sends to the browser for a role without clearance is the protected
figure, for every line, the total line included, and for the group pairs ``geo.overview.trends``
publishes together (rows and their total) no small count is published or pinned down.

The threshold rules of issue 11 (``complementary_suppression``, the ``hide_periods`` call) were
replaced by the cell-key method; these tests guard what replaced them: the total line of the
chart (the figure ``hide_periods`` used to protect) and the rows/total pairs.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from geo.access import disclosure, disclosure_audit
from geo.data.filters import Filters
from tests.app.conftest import login_as

PAGE = "pages/andamento.py"
SMALL_COMUNE = "045004"  # Casola in Lunigiana: about 25 crimes a year, months with 1 or 2
ROLE = "osservatore"

pytestmark = pytest.mark.usefixtures("demo_db")  # LANTERNA_DB points at the session's demo copy


def _store():
    from geo.data.storage import open_store

    return open_store(os.environ["LANTERNA_DB"])


def _chart_frame(at, title: str) -> pd.DataFrame:
    for chart in at.get("vega_lite_chart"):
        spec_title = json.loads(chart.proto.spec).get("title")
        if (spec_title if isinstance(spec_title, str) else (spec_title or {}).get("text")) == title:
            frames = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]
            return next(f for f in frames if "shown" in f.columns)
    raise AssertionError(f"no chart {title!r}")


@pytest.fixture
def small_view(app):
    at = app()
    login_as(at, ROLE)
    at.run()
    at.switch_page(PAGE).run()
    at.sidebar.multiselect(key="f_comuni").set_value([SMALL_COMUNE]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_total_line_sent_to_the_browser_is_protected(small_view):
    from geo.overview import trends

    filters = small_view.session_state["filters"]
    store = _store()
    exact = trends.incident_series(store, filters, freq="M", role="prefettura")
    protected = trends.incident_series(store, filters, freq="M", role=ROLE)
    t = disclosure.threshold()
    assert exact["incidents"].between(1, t - 1).any(), "the filter must hold small monthly totals"
    sent = _chart_frame(small_view, "Totale dei delitti nel filtro")
    assert sent["shown"].tolist() == protected["shown"].tolist()
    assert not sent["incidents"].between(1, t - 1).any()
    assert sent["shown"].tolist() != exact["shown"].tolist()


@pytest.mark.parametrize("comuni", [[], [SMALL_COMUNE]])
def test_every_line_of_the_breakdown_charts_is_protected(app, comuni):
    at = app()
    login_as(at, ROLE)
    at.run()
    at.switch_page(PAGE).run()
    at.sidebar.multiselect(key="f_comuni").set_value(comuni).run()
    t = disclosure.threshold()
    for title in ("Delitti per categoria", "Delitti per comune"):
        sent = _chart_frame(at, title)
        assert not sent["incidents"].between(1, t - 1).any(), title
        assert not sent["shown"].isin([str(v) for v in range(1, t)]).any(), title


def _pinned_small(rows: np.ndarray, total: int, exact: np.ndarray) -> list[int]:
    """Rows whose exact small count a reader pins down from the published rows and their total."""
    published = np.concatenate([rows, [total]])
    lo, hi = disclosure_audit.protected_intervals(published)
    n = len(rows)
    relation = (np.array([n]), np.array([0, n]), np.arange(n))
    lo, hi, _ = disclosure_audit.propagate(lo, hi, [relation])
    t = disclosure.threshold()
    return [i for i in range(n) if lo[i] == hi[i] == exact[i] and 1 <= exact[i] < t]


@pytest.mark.parametrize("by", ["category", "pro_com_t"])
def test_rows_and_their_total_publish_and_pin_no_small_count(by):
    """The pairs ``trends.period_change`` publishes together (every row and the total row), over
    the province and over each comune, for two years."""
    from geo.overview import trends

    store = _store()
    t = disclosure.threshold()
    # the province and every comune, two years: enough totals that some must carry noise whatever
    # the secret (each is unchanged with probability 0.558; 0.558^36 < 1e-9)
    views = [((), year) for year in (2023, 2024)]
    views += [((code,), year) for code in store.comuni()["pro_com_t"] for year in (2023, 2024)]
    totals = []
    for comuni, year in views:
        filters = Filters(comuni=comuni, start=pd.Timestamp(year, 1, 1).date(), end=pd.Timestamp(year, 12, 1).date())
        exact = trends.period_change(store, filters, by=by, role="prefettura")
        shown = trends.period_change(store, filters, by=by, role=ROLE)
        values = shown["current"].to_numpy(dtype="int64")
        assert not ((values >= 1) & (values < t)).any()
        true = exact["current"].to_numpy(dtype="int64")
        assert not _pinned_small(values[:-1], int(values[-1]), true[:-1]), (year, by, comuni)
        totals.append((int(values[-1]), int(true[-1])))
    # the total row is protected on its own (an exact total next to protected rows would give the
    # reader the sum of the noises); with 0.558 the chance of no noise, some totals must differ
    assert any(shown != true for shown, true in totals), totals


@pytest.mark.parametrize("by", ["category", "pro_com_t"])
def test_monthly_lines_and_the_total_line_pin_no_small_count(by):
    """The pairs ``trends.incident_series`` publishes: a line per category (or comune) and the total line."""
    from geo.overview import trends

    store = _store()
    filters = Filters(comuni=(SMALL_COMUNE,) if by == "category" else (), start=pd.Timestamp(2024, 1, 1).date(),
                      end=pd.Timestamp(2024, 12, 1).date())
    lines = trends.incident_series(store, filters, by=by, role=ROLE)
    total = trends.incident_series(store, filters, role=ROLE).set_index("period")["incidents"]
    exact = trends.incident_series(store, filters, by=by, role="prefettura")
    t = disclosure.threshold()
    assert not lines["incidents"].between(1, t - 1).any()
    for period, group in lines.groupby("period"):
        true = exact.loc[exact["period"] == period, "incidents"].to_numpy(dtype="int64")
        pinned = _pinned_small(group["incidents"].to_numpy(dtype="int64"), int(total.loc[period]), true)
        assert not pinned, period
