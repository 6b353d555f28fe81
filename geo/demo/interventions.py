"""Labelled synthetic interventions of the demo, with a planted effect.

Two persistent hot spots of the demo get an intervention (a pilot-zone action, a lighting work)
over their resolution-9 hexagon and its first ring, starting 18 months before the last month. The
demo's incidents follow the official yearly totals, so the planted effect keeps them: 30 % of the
incidents of the treated cells after the start (binomial thinning) are moved to rows of the same
month, category and time band outside the treated area and its ring (two steps). The evaluation
then finds a reduction near −30 % against matched comparison areas.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import h3
import numpy as np
import pandas as pd

from geo.data.storage import Store

EFFECT = -0.30
RES = 9
SPECS = (("zona_pilota", "Azioni zona pilota (demo)", "Polizia Locale", 60000.0),
         ("illuminazione", "Lavori di illuminazione (demo)", "Ufficio tecnico comunale", 180000.0))


def _start(months: pd.Series) -> date:
    last = pd.Timestamp(months.max())
    return (last - pd.DateOffset(months=17)).date().replace(day=1)


def plant(incidents: pd.DataFrame, hotspots: pd.DataFrame, *, rng: np.random.Generator
          ) -> tuple[pd.DataFrame, list[dict]]:
    """The incidents with the planted effect, and the interventions to register (with ``cells``)."""
    if incidents.empty or hotspots.empty:
        return incidents, []
    inc = incidents.copy()
    start = _start(inc["month"])
    parents = np.array([h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), RES)) for c in inc["cell"]])
    persistent = hotspots[hotspots["tipo"] != "emergente"] if "tipo" in hotspots else hotspots
    specs = []
    protected = np.zeros(len(inc), dtype=bool)
    for (kind, title, body, cost), spot in zip(SPECS, persistent.itertuples(), strict=False):
        centre = h3.cell_to_parent(h3.int_to_str(int(spot.cell)), RES)
        cells = [h3.str_to_int(c) for c in h3.grid_disk(centre, 1)]
        ring = [h3.str_to_int(c) for c in h3.grid_disk(centre, 3)]
        protected |= np.isin(parents, ring)
        treated = np.isin(parents, cells) & (pd.to_datetime(inc["month"]).dt.date.to_numpy() >= start)
        kept = rng.binomial(inc.loc[treated, "count"].to_numpy(), 1 + EFFECT)
        moved = inc.loc[treated].assign(count=inc.loc[treated, "count"].to_numpy() - kept)
        inc.loc[treated, "count"] = kept.astype(inc["count"].dtype)
        specs.append({"kind": kind, "title": f"{title}: {spot.nome}", "responsible": body, "cost_eur": cost,
                      "pro_com_t": spot.pro_com_t, "start_date": start, "cells": cells, "moved": moved})
    for spec in specs:
        moved = spec.pop("moved")
        moved = moved[moved["count"] > 0]
        outside = inc[~protected]
        keys = ["month", "category", "time_band"]
        targets = outside.groupby(keys).apply(lambda g: g.index.to_numpy(), include_groups=False)
        for row in moved.itertuples():
            idx = targets.get((row.month, row.category, row.time_band))
            # no row to move to: the incidents stay where they were (the yearly totals must not change)
            target = row.Index if idx is None or len(idx) == 0 else int(rng.choice(idx))
            inc.loc[target, "count"] += int(row.count)
    return inc[inc["count"] > 0].reset_index(drop=True), specs


def register(store: Store, cur, specs: list[dict]) -> None:
    """Write the demo interventions (``synthetic`` true) inside the build's transaction."""
    now = datetime.now(UTC).replace(tzinfo=None)
    for n, spec in enumerate(specs, start=1):
        iid = f"INT-{spec['start_date'].year}-{n:04d}"
        row = {"intervention_id": iid, "kind": spec["kind"], "title": spec["title"], "pro_com_t": spec["pro_com_t"],
               "res": RES, "source": "demo", "start_date": spec["start_date"], "end_date": None,
               "cost_eur": spec["cost_eur"], "responsible": spec["responsible"], "status": "in_corso",
               "report_ids": "", "notes": "Intervento sintetico della demo con effetto introdotto (−30 %).",
               "synthetic": True, "created_at": now, "created_by": "demo"}
        store.insert_intervention(cur, row, spec["cells"])
        store.insert_intervention_event(cur, {"intervention_id": iid, "event_at": now, "username": "demo",
                                              "role": None, "kind": "creazione", "to_status": "in_corso"})
