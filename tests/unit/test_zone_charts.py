"""The Zone pilota contribution chart: horizontal stacked bars, one per zone of the top N."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.zones.charts import BAR_STEP_PX, contributions_chart, zone_axis_labels
from geo.zones.indicators import INDICATOR_KEYS


def zones_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.uniform(0.5, 8.0, size=(n, len(INDICATOR_KEYS))),
                         columns=[f"c_{k}" for k in INDICATOR_KEYS])
    frame["rank"] = np.arange(1, n + 1)
    frame["zone"] = [f"Z-{i:04d}" for i in range(n)]
    frame["name"] = [f"Località {i} (Comune)" for i in range(n)]
    return frame.sample(frac=1.0, random_state=1)  # rank order must not depend on the row order


def _dataset(spec: dict, layer: dict) -> list[dict]:
    return spec["datasets"][layer["data"]["name"]]


def test_contribution_chart_is_horizontal_stacked_with_one_bar_per_top_zone():
    spec = contributions_chart(zones_frame(15), top=10).to_dict()
    bars, text = spec["layer"]
    assert bars["mark"]["type"] == "bar"
    enc = bars["encoding"]
    assert enc["y"]["type"] == "nominal"
    assert enc["x"]["type"] == "quantitative"
    assert enc["x"]["stack"] == "zero"
    rows = _dataset(spec, bars)
    labels = sorted({r["etichetta"] for r in rows})
    assert labels == sorted(f"{r}. Località {r - 1} (Comune)" for r in range(1, 11))
    assert enc["y"]["sort"][:2] == ["1. Località 0 (Comune)", "2. Località 1 (Comune)"]
    assert enc["y"]["axis"]["labelOverlap"] is False
    assert enc["y"]["axis"]["labelLimit"] >= 200
    legend = enc["color"]["legend"]
    assert legend["orient"] == "bottom"
    assert legend["labelLimit"] >= 300
    assert spec["height"] == {"step": BAR_STEP_PX}  # grows with the zones: labels never overlap
    # Italian numbers: tooltips carry formatted strings, the axis a comma-decimal expression
    assert all("," in r["punti"] or r["punti"].isdigit() for r in rows)
    assert "replace" in enc["x"]["axis"]["labelExpr"]
    totals = _dataset(spec, text)
    assert len(totals) == 10
    assert all("." not in t["totale"] for t in totals)


def test_contribution_chart_segments_add_up_to_each_zone_total():
    z = zones_frame(4)
    spec = contributions_chart(z, top=10).to_dict()
    bars, text = spec["layer"]
    sums: dict[str, float] = {}
    for r in _dataset(spec, bars):
        sums[r["etichetta"]] = sums.get(r["etichetta"], 0.0) + r["points"]
    totals = {t["etichetta"]: t["total"] for t in _dataset(spec, text)}
    assert sorted(sums) == sorted(totals)
    for key, value in sums.items():
        assert abs(value - totals[key]) < 1e-9


def test_axis_labels_fall_back_to_the_zone_id_without_a_name():
    z = pd.DataFrame({"rank": [1, 2], "zone": ["Z-AAAA", "Z-BBBB"], "name": ["Avenza (Carrara)", None]})
    assert zone_axis_labels(z) == ["1. Avenza (Carrara)", "2. Z-BBBB"]
    assert zone_axis_labels(z.drop(columns="name")) == ["1. Z-AAAA", "2. Z-BBBB"]
