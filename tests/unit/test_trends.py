"""geo.overview.trends against hand-computed values.

The store holds the made-up two-comune province of ``tests/unit/conftest.py`` (Alfa 098001,
Beta 098002) and these incidents (cell of the comune, month 2024, category, band, count):

=====  =====  ===========  ======  =====
comune month  category     band    count
=====  =====  ===========  ======  =====
Alfa   01     furti_altri  giorno  5
Alfa   01     rapine       notte   1
Alfa   02     furti_altri  giorno  4
Alfa   02     furti_altri  notte   2
Alfa   03     furti_altri  giorno  7
Alfa   04     rapine       giorno  2
Beta   01     furti_altri  giorno  3
Beta   03     rapine       notte   10
Beta   04     furti_altri  giorno  1
Beta   04     furti_altri  notte   8
=====  =====  ===========  ======  =====
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from geo.data.filters import Filters
from geo.data.loader import load_territory_into_store
from geo.data.schemas import INCIDENT_CATEGORIES
from geo.data.storage import Store
from geo.data.territory import load_territory
from geo.overview import trends

ALFA, BETA = "098001", "098002"
POLICE, VIEWER = "forze_polizia", "osservatore"
ROWS = [
    (ALFA, 1, "furti_altri", "giorno", 5),
    (ALFA, 1, "rapine", "notte", 1),
    (ALFA, 2, "furti_altri", "giorno", 4),
    (ALFA, 2, "furti_altri", "notte", 2),
    (ALFA, 3, "furti_altri", "giorno", 7),
    (ALFA, 4, "rapine", "giorno", 2),
    (BETA, 1, "furti_altri", "giorno", 3),
    (BETA, 3, "rapine", "notte", 10),
    (BETA, 4, "furti_altri", "giorno", 1),
    (BETA, 4, "furti_altri", "notte", 8),
]
MAR_APR = Filters(start=date(2024, 3, 1), end=date(2024, 4, 1))


def _provinces() -> pd.DataFrame:
    """Five provinces in two regions; 2024 has D's rate missing (20.0 from its counts)."""
    rows = [
        # ref_area, territorio, anno, delitti, regione, popolazione, tasso
        ("ITX1", "A", 2024, 500, "Uno", 10000, 50.0),
        ("ITX2", "B", 2024, 440, "Uno", 10000, 44.0),
        ("ITX5", "E", 2024, 400, "Uno", 10000, 40.0),
        ("ITX3", "C", 2024, 300, "Due", 10000, 30.0),
        ("ITX4", "D", 2024, 200, "Due", 10000, None),
        ("ITX1", "A", 2023, 100, "Uno", 10000, 10.0),
        ("ITX2", "B", 2023, 100, "Uno", 10000, 10.0),
        ("ITX5", "E", 2023, 50, "Uno", 10000, 5.0),
        ("ITX3", "C", 2023, 70, "Due", 10000, 7.0),
        ("ITX4", "D", 2023, 30, "Due", 10000, 3.0),
    ]
    return pd.DataFrame(rows, columns=["ref_area", "territorio", "anno", "delitti", "regione", "popolazione",
                                       "tasso_per_1000"])


@pytest.fixture
def store(tmp_path, tiny_territory_dir):
    s = Store(tmp_path / "trends.duckdb")
    load_territory_into_store(s, load_territory(tiny_territory_dir))
    cell = {c: s.query("SELECT min(cell) AS c FROM cells WHERE pro_com_t = ?", [c])["c"].iloc[0] for c in (ALFA, BETA)}
    incidents = pd.DataFrame({
        "cell": [cell[r[0]] for r in ROWS],
        "month": [date(2024, r[1], 1) for r in ROWS],
        "category": [r[2] for r in ROWS],
        "time_band": [r[3] for r in ROWS],
        "outdoor": True,
        "count": [r[4] for r in ROWS],
        "synthetic": True,
        "source": "test",
        "import_id": None,
    })
    official = pd.DataFrame({"anno": [2023, 2024, 2024], "categoria": ["totale", "totale", "rapine"],
                             "delitti": [40, 60, 12], "fonte": ["ISTAT", "ISTAT", "Viminale"]})
    with s.transaction() as cur:
        Store.write_frame(cur, "incidents", incidents)
        Store.write_frame(cur, "crime_provinces", _provinces(), mode="replace")
        Store.write_frame(cur, "crime_official", official, mode="replace")
    yield s
    s.close()


# -- months ------------------------------------------------------------------------------------

def test_month_arithmetic():
    assert trends.add_months(date(2024, 1, 15), -1) == date(2023, 12, 1)
    assert trends.add_months(date(2023, 11, 1), 14) == date(2025, 1, 1)
    assert trends.months_between(date(2023, 11, 1), date(2024, 2, 1)) == 4
    assert trends.month_range(date(2023, 12, 1), date(2024, 2, 1)) == [
        date(2023, 12, 1), date(2024, 1, 1), date(2024, 2, 1)]


def test_comparison_window_is_the_previous_period_of_same_length(store):
    w = trends.comparison_window(store, MAR_APR)
    assert (w.start, w.end, w.previous_start, w.previous_end) == (
        date(2024, 3, 1), date(2024, 4, 1), date(2024, 1, 1), date(2024, 2, 1))
    assert w.months == 2
    assert w.previous_covered
    whole = trends.comparison_window(store, Filters())
    assert (whole.start, whole.end) == (date(2024, 1, 1), date(2024, 4, 1))
    assert whole.previous_start == date(2023, 9, 1)
    assert not whole.previous_covered


# -- period change -----------------------------------------------------------------------------

def test_period_change_by_category(store):
    ch = trends.period_change(store, MAR_APR, by="category", role=POLICE).set_index("key")
    assert list(ch.index) == [*INCIDENT_CATEGORIES, "totale"]
    # Mar-Apr: furti 7 + 1 + 8 = 16, rapine 2 + 10 = 12; Jan-Feb: furti 5 + 4 + 2 + 3 = 14, rapine 1.
    assert ch.loc["furti_altri", ["current", "previous", "delta"]].tolist() == [16, 14, 2]
    assert ch.loc["furti_altri", "delta_pct"] == pytest.approx(2 / 14 * 100)
    assert ch.loc["rapine", ["current", "previous", "delta", "delta_pct"]].tolist() == [12, 1, 11, 1100]
    assert ch.loc["totale", ["current", "previous", "delta"]].tolist() == [28, 15, 13]
    assert ch.loc["totale", "delta_pct"] == pytest.approx(13 / 15 * 100)
    assert ch.loc["furti_abitazione", ["current", "previous", "delta"]].tolist() == [0, 0, 0]
    assert math.isnan(ch.loc["furti_abitazione", "delta_pct"])  # nothing to compare with
    assert ch.loc["totale", "label"] == "Totale"
    assert ch.loc["rapine", "label"] == "Rapine"


def test_period_change_by_comune(store):
    ch = trends.period_change(store, MAR_APR, by="pro_com_t", role=POLICE).set_index("key")
    assert list(ch.index) == [ALFA, BETA, "totale"]
    assert list(ch["label"]) == ["Alfa", "Beta", "Totale"]
    assert ch.loc[ALFA, ["current", "previous", "delta"]].tolist() == [9, 12, -3]
    assert ch.loc[ALFA, "delta_pct"] == pytest.approx(-25.0)
    assert ch.loc[BETA, ["current", "previous", "delta"]].tolist() == [19, 3, 16]
    assert ch.loc[BETA, "delta_pct"] == pytest.approx(16 / 3 * 100)


def test_period_change_respects_filters(store):
    f = Filters(start=date(2024, 3, 1), end=date(2024, 4, 1), comuni=(BETA,), categories=("rapine",))
    ch = trends.period_change(store, f, by="category", role=POLICE).set_index("key")
    assert list(ch.index) == ["rapine", "totale"]
    assert ch.loc["rapine", ["current", "previous", "delta"]].tolist() == [10, 0, 10]
    assert math.isnan(ch.loc["rapine", "delta_pct"])  # previous is zero
    night = trends.period_change(store, Filters(start=date(2024, 3, 1), end=date(2024, 4, 1), time_band="notte"),
                                 by="category", role=POLICE).set_index("key")
    assert night.loc["totale", ["current", "previous"]].tolist() == [18, 3]  # 10 + 8; 1 + 2


def test_period_change_without_previous_data(store):
    ch = trends.period_change(store, Filters(), by="category", role=POLICE).set_index("key")
    assert ch.loc["totale", "current"] == 43
    assert ch["previous"].isna().all()
    assert ch["delta"].isna().all()
    assert ch["delta_pct"].isna().all()
    assert set(ch["previous_shown"]) == {"n.d."}


def test_period_change_is_protected_for_a_role_without_clearance(store):
    exact = trends.period_change(store, MAR_APR, by="category", role=POLICE).set_index("key")
    ch = trends.period_change(store, MAR_APR, by="category", role=VIEWER).set_index("key")
    # previous rapine = 1: published as 0 or 3, never "< 3"; the total and every line are numbers
    assert exact.loc["rapine", "previous_shown"] == "1"
    assert ch.loc["rapine", "previous_shown"] in ("0", "3")
    values = ch[["current", "previous"]].to_numpy().ravel()
    assert not ((values >= 1) & (values < 3)).any()
    assert not np.isnan(values).any()
    assert abs(ch.loc["totale", "previous"] - 15) <= 3
    assert abs(ch.loc["rapine", "current"] - 12) <= 3
    assert (ch["delta"] == ch["current"] - ch["previous"]).all()  # derived from the protected values
    assert ch.loc["furti_abitazione", "previous_shown"] == "0"  # nothing stays nothing
    again = trends.period_change(store, MAR_APR, by="category", role=VIEWER).set_index("key")
    assert again["previous"].equals(ch["previous"])

# -- series ------------------------------------------------------------------------------------

def test_monthly_total_series(store):
    s = trends.incident_series(store, Filters(), role=POLICE)
    assert list(s["period"]) == [date(2024, m, 1) for m in (1, 2, 3, 4)]
    assert list(s["incidents"]) == [9, 6, 17, 11]
    assert list(s["shown"]) == ["9", "6", "17", "11"]
    assert set(s["key"]) == {"totale"}


def test_series_by_comune_fills_zero_months(store):
    s = trends.incident_series(store, Filters(), by="pro_com_t", role=POLICE)
    beta = s[s["key"] == BETA].set_index("period")["incidents"]
    assert beta.tolist() == [3, 0, 10, 9]
    alfa = s[s["key"] == ALFA].set_index("period")["incidents"]
    assert alfa.tolist() == [6, 6, 7, 2]
    assert s["suppressed"].isna().all()


def test_series_protection_for_a_role_without_clearance(store):
    s = trends.incident_series(store, Filters(), by="pro_com_t", role=VIEWER)
    exact = trends.incident_series(store, Filters(), by="pro_com_t", role=POLICE)
    shown = s.set_index(["key", "period"])
    # Alfa April (2) is never shown as 2 nor as "< 3"; large values stay within 2
    assert shown.loc[(ALFA, date(2024, 4, 1)), "shown"] in ("0", "3")
    assert shown.loc[(BETA, date(2024, 2, 1)), "shown"] == "0"
    assert abs(shown.loc[(BETA, date(2024, 3, 1)), "incidents"] - 10) <= 3
    assert s["suppressed"].isna().all()
    assert s["incidents"].notna().all()
    assert not s["incidents"].between(1, 2).any()
    assert exact["incidents"].between(1, 2).any()
    # the territory's March total is the same whether asked from the total or from the map's KPIs
    total = trends.incident_series(store, Filters(), role=VIEWER).set_index("period")
    march = trends.incident_series(store, Filters(start=date(2024, 3, 1), end=date(2024, 3, 1)), role=VIEWER)
    assert total.loc[date(2024, 3, 1), "incidents"] == march["incidents"].iloc[0]

def test_yearly_series_by_category(store):
    s = trends.incident_series(store, Filters(), by="category", freq="Y", role=POLICE).set_index("key")
    assert (s["period"] == date(2024, 1, 1)).all()
    assert (s["months"] == 4).all()
    assert s.loc["furti_altri", "incidents"] == 30  # 5 + 4 + 2 + 7 + 3 + 1 + 8
    assert s.loc["rapine", "incidents"] == 13
    assert s.loc["truffe_frodi", "incidents"] == 0
    assert s.loc["rapine", "label"] == "Rapine"


def test_series_of_empty_store(tmp_path, tiny_territory_dir):
    s = Store(tmp_path / "empty.duckdb")
    load_territory_into_store(s, load_territory(tiny_territory_dir))
    assert trends.incident_series(s, Filters()).empty
    assert trends.comparison_window(s, Filters()) is None
    s.close()


def test_trend_arrow():
    assert trends.trend_arrow(5, 10.0) == "▲"
    assert trends.trend_arrow(-5, -10.0) == "▼"
    assert trends.trend_arrow(1, 0.5) == "="
    assert trends.trend_arrow(0, None) == "="
    assert trends.trend_arrow(float("nan")) == "–"


# -- provinces ---------------------------------------------------------------------------------

def test_province_ranking(store):
    r = trends.province_ranking(store, 2024, "ITX5")
    assert (r.rank, r.n, r.rank_label) == (3, 5, "3° su 5")
    assert r.rate == 40.0
    assert r.name == "E"
    assert r.region == "Uno"
    assert r.national_median == 40.0  # 50, 44, 40, 30, 20
    assert r.regional_median == 44.0  # 50, 44, 40
    assert list(r.table["territorio"]) == ["A", "B", "E", "C", "D"]
    assert r.table.loc[r.table["territorio"] == "D", "tasso_per_1000"].item() == 20.0  # 200 / 10,000 x 1,000
    assert r.table["ours"].sum() == 1
    assert bool(r.table.loc[2, "ours"])


def test_province_ranking_ties_share_the_best_rank(store):
    r = trends.province_ranking(store, 2023, "ITX5")
    ranks = dict(zip(r.table["territorio"], r.table["rank"], strict=True))
    assert ranks == {"A": 1, "B": 1, "C": 3, "E": 4, "D": 5}
    assert r.rank == 4
    assert r.national_median == 7.0
    assert r.regional_median == 10.0


def test_province_ranking_unknown_province(store):
    r = trends.province_ranking(store, 2024, "ITZZZ")
    assert r.rank is None
    assert r.rank_label == "n.d. su 5"
    assert r.rate is None
    assert r.national_median == 40.0


def test_rate_series(store):
    s = trends.rate_series(store, "ITX5")
    assert s["anno"].tolist() == [2023, 2024]
    assert s["tasso"].tolist() == [5.0, 40.0]
    assert s["mediana_regionale"].tolist() == [10.0, 44.0]
    assert s["mediana_nazionale"].tolist() == [7.0, 40.0]
    assert s["rank"].tolist() == [4, 3]


def test_ranking_on_the_real_istat_table(tmp_path):
    """Massa-Carrara 2024 in the bundled ISTAT table: 6,912 crimes, 186,982 residents."""
    s = Store(tmp_path / "ms.duckdb")
    load_territory_into_store(s, load_territory("massa-carrara"))
    r = trends.province_ranking(s, 2024, load_territory("massa-carrara").nuts3)
    assert r.n == 106
    assert r.name == "Massa-Carrara"
    assert r.region == "Toscana"
    assert r.rate == pytest.approx(36.97)
    assert r.rank == 33  # 32 provinces above 36.97 (counted with awk on the CSV)
    assert r.national_median == pytest.approx(32.465)  # (32.44 + 32.49) / 2 of the 106 rates
    assert r.regional_median == pytest.approx(39.33)  # (37.50 Lucca + 41.16 Grosseto) / 2
    s.close()


# -- official totals ---------------------------------------------------------------------------

def test_official_vs_dataset(store):
    o = trends.official_vs_dataset(store).set_index(["anno", "categoria"])
    assert o.loc[(2024, "totale"), "ufficiali"] == 60
    assert o.loc[(2024, "totale"), "dataset"] == 43
    assert o.loc[(2024, "totale"), "mesi"] == 4
    assert math.isnan(o.loc[(2024, "totale"), "scarto_pct"])  # an incomplete year is not compared
    assert o.loc[(2024, "rapine"), ["ufficiali", "dataset"]].tolist() == [12, 13]
    assert math.isnan(o.loc[(2023, "totale"), "dataset"])
    assert o.loc[(2023, "totale"), "mesi"] == 0
    assert math.isnan(o.loc[(2024, "furti_altri"), "ufficiali"])
    assert o.loc[(2024, "furti_altri"), "dataset"] == 30
    assert o.loc[(2024, "totale"), "label"] == "Totale"


def test_official_vs_dataset_gap_for_complete_years(store):
    months = pd.DataFrame({"cell": store.query("SELECT min(cell) AS c FROM cells")["c"].iloc[0],
                           "month": [date(2023, m, 1) for m in range(1, 13)], "category": "altro",
                           "time_band": "giorno", "outdoor": True, "count": 5, "synthetic": True, "source": "t",
                           "import_id": None})
    with store.transaction() as cur:
        Store.write_frame(cur, "incidents", months)
    o = trends.official_vs_dataset(store).set_index(["anno", "categoria"])
    assert o.loc[(2023, "totale"), ["dataset", "mesi"]].tolist() == [60, 12]
    assert o.loc[(2023, "totale"), "scarto_pct"] == pytest.approx(50.0)  # 60 against 40


def test_official_vs_dataset_is_protected_for_roles_without_clearance(store):
    official = trends.official_vs_dataset(store)
    out = trends.protect_official(official, VIEWER).set_index(["anno", "categoria"])
    assert "dataset_key" not in out.columns
    # the official figures are published statistics: unchanged
    assert out.loc[(2024, "rapine"), "ufficiali_shown"] == "12"
    assert abs(out.loc[(2024, "totale"), "dataset"] - 43) <= 3
    assert abs(out.loc[(2024, "rapine"), "dataset"] - 13) <= 3
    ds = out["dataset"].dropna()
    assert not ds.between(1, 2).any()
    cleared = trends.protect_official(official, POLICE).set_index(["anno", "categoria"])
    assert cleared.loc[(2024, "rapine"), "dataset_shown"] == "13"
