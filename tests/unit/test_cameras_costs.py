"""Costs per camera type with their source (issue 18): the national table of estimates, a
territory's own price list over it, and the source carried into the plan's export."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.cameras import views
from geo.cameras.evidence import (
    CAMERA_COSTS,
    COSTS_FILE,
    CostsFileError,
    costs_table,
    read_costs,
    territory_costs,
)
from geo.cameras.placement import Plan
from geo.data.schemas import CAMERA_TYPES
from geo.data.territory import load_territory


def test_national_costs_are_labelled_estimates_with_their_reasoning():
    assert COSTS_FILE.name == "costi_telecamere.csv"
    assert set(CAMERA_COSTS) == set(CAMERA_TYPES)
    assert CAMERA_COSTS["fissa"].cost_eur < CAMERA_COSTS["dome"].cost_eur < CAMERA_COSTS["lettura_targhe"].cost_eur
    for cost in CAMERA_COSTS.values():
        assert cost.estimate
        assert cost.source.startswith("Stima:")
        assert "offline" in cost.source
    table = costs_table()
    assert list(table.columns) == ["Tipo", "Costo (€)", "Valore", "Portata (m)", "Angolo (°)", "Fonte"]
    assert set(table["Valore"]) == {"stima"}


def test_a_territory_overrides_the_types_it_lists(tiny_territory_dir):
    (tiny_territory_dir / "costi_telecamere.csv").write_text(
        "tipo,costo_eur,stima,fonte\n"
        "dome,\"6.100,50\",false,Prezzario regionale 2024 voce 15.07.002 (esempio)\n", encoding="utf-8")
    # "6.100,50" is not a number the reader accepts: the file is refused in Italian
    with pytest.raises(CostsFileError, match="riga 2: 'costo_eur' non è un numero"):
        territory_costs(load_territory(tiny_territory_dir))
    (tiny_territory_dir / "costi_telecamere.csv").write_text(
        "tipo,costo_eur,stima,fonte\ndome,6100.5,false,Prezzario regionale 2024 voce 15.07.002 (esempio)\n",
        encoding="utf-8")
    costs = territory_costs(load_territory(tiny_territory_dir))
    assert costs["dome"].cost_eur == pytest.approx(6100.5)
    assert not costs["dome"].estimate
    assert costs["dome"].range_m == CAMERA_COSTS["dome"].range_m  # geometry kept from the defaults
    assert costs["fissa"] == CAMERA_COSTS["fissa"]
    assert costs_table(costs).set_index("Tipo").loc["Dome / PTZ", "Valore"] == "prezzo documentato"


def test_a_territory_without_a_price_list_keeps_the_national_estimates(tiny_territory_dir):
    assert territory_costs(load_territory(tiny_territory_dir)) == CAMERA_COSTS


@pytest.mark.parametrize(("body", "message"), [
    ("tipo,costo_eur,fonte\nsatellite,100,x\n", "tipo 'satellite' sconosciuto"),
    ("tipo,costo_eur,fonte\nfissa,100,\n", "manca la fonte del costo"),
    ("tipo,costo_eur\nfissa,100\n", "mancano le colonne fonte"),
    ("tipo,costo_eur,fonte\nfissa,-3,x\n", "'costo_eur' deve essere positivo"),
])
def test_bad_cost_files_are_refused(tmp_path, body, message):
    path = tmp_path / "costi_telecamere.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(CostsFileError, match=message):
        read_costs(path, base=CAMERA_COSTS)


def _plan(kinds_costs: list[tuple[str, float]]) -> Plan:
    chosen = pd.DataFrame({"id": [f"c{i}" for i in range(len(kinds_costs))], "pro_com_t": "045010",
                           "kind": [k for k, _ in kinds_costs], "direction_deg": 0.0, "school": "",
                           "lat": 44.03, "lon": 10.14, "cost_eur": [c for _, c in kinds_costs],
                           "incidents_year_seen": 1.0})
    return Plan(chosen=chosen, totals={}, status="ottimo", x=None)


def test_plan_export_names_the_source_of_each_cost():
    plan = _plan([("fissa", CAMERA_COSTS["fissa"].cost_eur), ("dome", 9999.0)])
    table = views.plan_table(plan, {"045010": "Massa"})
    fonte = table["Fonte del costo"].tolist()
    assert fonte[0].startswith("stima – Stima: nessun prezzario")
    assert fonte[1] == views.USER_COST
    assert b"Fonte del costo" in views.to_csv(table)
    line = views.cost_line({"fissa": 2500.0, "dome": 9999.0})
    assert "Telecamera fissa 2.500 € (stima)" in line
    assert "Dome / PTZ 9.999 € (valore inserito dall'utente)" in line


def test_tables_are_shown_with_italian_numbers():
    frame = pd.DataFrame({"Costo (€)": [2500.0, 12000.0], "Latitudine": [44.0776, 44.1], "Quota": [0.5, float("nan")],
                          "Tipo": ["a", "b"]})
    shown = views.italian(frame)
    assert shown["Costo (€)"].tolist() == ["2.500", "12.000"]
    assert shown["Latitudine"].tolist() == ["44,07760", "44,10000"]
    assert shown["Quota"].tolist() == ["0,50", "–"]
    assert shown["Tipo"].tolist() == ["a", "b"]
    assert frame["Costo (€)"].dtype == float  # the export keeps numbers
