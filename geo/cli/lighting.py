"""``python -m geo rank lighting``: the lighting investment plan of the dashboard, from the
command line (pact art. 5).

Writes the optimal plan for a budget as CSV (UTF-8 with BOM, ';', decimal comma, for Italian
spreadsheets), GeoJSON (one hexagon per intervention, WGS84) or a printable HTML summary, and
prints its totals (cost, prevented incidents with their range, energy) on the standard error.
Registered by :mod:`geo.cli.main`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from geo.access.privacy import format_decimal, format_int
from geo.cli.args import add_data_and_output_options, database, parse_month, resolve_comuni, write_output
from geo.lighting.costs import CostParams, EnergyParams
from geo.lighting.effects import EffectModel
from geo.lighting.need import NeedParams, UnderlitRule

FORMATS = ("csv", "geojson", "html")
DEFAULT_RES = 9
DEFAULT_LOT = 20


def add_parser(rank_subparsers, make_parser, add_common) -> argparse.ArgumentParser:
    """Register ``lighting`` under ``python -m geo rank``."""
    costs, energy, effects, need = CostParams(), EnergyParams(), EffectModel(), NeedParams()
    p = make_parser(
        rank_subparsers, "lighting",
        help="piano ottimo di investimento nell'illuminazione pubblica (art. 5) per un budget",
        description="Sceglie, per un budget, gli interventi sull'illuminazione pubblica (riparazione dei guasti, "
                    "sostituzione con LED, nuovi punti luce) che massimizzano i delitti notturni all'aperto evitati "
                    "attesi, con ottimo esatto (programmazione lineare intera, HiGHS). Scrive CSV, GeoJSON o un "
                    "riepilogo HTML stampabile; i totali (con l'intervallo basso-alto dell'effetto) vanno sullo "
                    "standard error.",
    )
    add_common(p)
    p.add_argument("--budget", required=True, type=_euros, metavar="EURO",
                   help="budget in euro, es. 1000000 o 1.000.000 (obbligatorio)")
    p.add_argument("--res", type=int, choices=(8, 9, 10), default=DEFAULT_RES,
                   help="risoluzione degli esagoni H3 (predefinita: %(default)s, ≈ 0,1 km²)")
    g = p.add_argument_group("costi unitari (€ per punto luce; sostituirli con il prezzario regionale)")
    g.add_argument("--costo-riparazione", "--repair-cost", dest="repair_eur", type=_euros,
                   default=costs.repair_eur, metavar="EURO", help="riparazione di un guasto (predefinito: %(default)s)")
    g.add_argument("--costo-led", "--led-cost", dest="led_eur", type=_euros, default=costs.led_eur, metavar="EURO",
                   help="sostituzione con apparecchio LED (predefinito: %(default)s)")
    g.add_argument("--costo-nuovo", "--new-point-cost", dest="new_point_eur", type=_euros,
                   default=costs.new_point_eur, metavar="EURO",
                   help="nuovo punto luce completo (predefinito: %(default)s)")
    g = p.add_argument_group("energia")
    g.add_argument("--ore", "--hours", dest="hours", type=float, default=energy.hours_per_year, metavar="ORE",
                   help="ore di accensione all'anno (predefinite: %(default)s)")
    g.add_argument("--prezzo-kwh", "--eur-per-kwh", dest="eur_per_kwh", type=float, default=energy.eur_per_kwh,
                   metavar="EURO", help="prezzo dell'energia in €/kWh (predefinito: %(default)s)")
    g.add_argument("--co2-kwh", "--kg-co2-per-kwh", dest="kg_co2", type=float, default=energy.kg_co2_per_kwh,
                   metavar="KG", help="fattore di emissione in kg CO₂/kWh, ISPRA (predefinito: %(default)s)")
    g = p.add_argument_group("effetto sui delitti notturni all'aperto (riduzione relativa 0-1)")
    g.add_argument("--effetto-basso", dest="low", type=float, default=effects.low, metavar="QUOTA",
                   help="valore basso (predefinito: %(default)s, ipotesi prudente)")
    g.add_argument("--effetto-centrale", dest="central", type=float, default=effects.central, metavar="QUOTA",
                   help="valore centrale (predefinito: %(default)s, Welsh & Farrington 2008)")
    g.add_argument("--effetto-alto", dest="high", type=float, default=effects.high, metavar="QUOTA",
                   help="valore alto (predefinito: %(default)s, Chalfin et al. 2022)")
    g.add_argument("--diffusione", "--diffusion", dest="diffusion", type=float, default=effects.diffusion,
                   metavar="QUOTA", help="effetto sui sei esagoni vicini, 0 = no (predefinito: %(default)s; "
                                         "Painter & Farrington 1999)")
    g = p.add_argument_group("fabbisogno")
    g.add_argument("--base", choices=("auto", "strade", "residenti", "area"), default="auto",
                   help="base della densità di punti luce (predefinita: %(default)s = strade se caricate, "
                        "altrimenti residenti)")
    g.add_argument("--obiettivo", "--target", dest="target", type=float, default=None, metavar="DENSITÀ",
                   help="punti luce per unità della base (predefinito: confronto con i centri)")
    g.add_argument("--soglia", dest="underlit_below", type=float, default=need.rule.underlit_below, metavar="QUOTA",
                   help="sottoilluminato sotto questa quota dell'obiettivo (predefinita: %(default)s)")
    g.add_argument("--periferia-km", dest="outskirts_km", type=float, default=need.outskirts_km, metavar="KM",
                   help="distanza dal centro del comune oltre la quale un esagono è periferia "
                        "(predefinita: %(default)s)")
    g = p.add_argument_group("vincoli del piano")
    g.add_argument("--periferie", "--outskirts-only", dest="outskirts_only", action="store_true",
                   help="solo interventi nelle periferie")
    g.add_argument("--quota-min", "--min-share", dest="min_share", default="0", metavar="QUOTA",
                   help="quota minima del costo del piano per comune: un valore per tutti (es. 0.05) o "
                        "'CODICE=QUOTA,…' (es. 045010=0.2,045003=0.1)")
    g.add_argument("--quota-max", "--max-share", dest="max_share", default="1", metavar="QUOTA",
                   help="quota massima del costo del piano per comune, come --quota-min")
    g.add_argument("--forza", "--force-in", dest="force_in", action="append", default=[], metavar="ID",
                   help="interventi da includere (id come 89xxxxxxxxxxxxx-R, -L, -N1; separati da virgole, "
                        "ripetibile)")
    g.add_argument("--escludi", "--force-out", dest="force_out", action="append", default=[], metavar="ID",
                   help="interventi da escludere (come --forza)")
    g.add_argument("--peso-percezione", "--perceived-weight", dest="perceived_weight", type=float, default=0.0,
                   metavar="PESO", help="delitti equivalenti per punto di domanda di sicurezza percepita "
                                        "(predefinito: %(default)s)")
    g.add_argument("--lotto", dest="lot_size", type=int, default=DEFAULT_LOT, metavar="N",
                   help="nuovi punti luce per intervento al massimo (predefinito: %(default)s; 0 = un solo "
                        "intervento per esagono)")
    g = p.add_argument_group("dati e uscita")
    add_data_and_output_options(g, FORMATS)
    p.set_defaults(func=cmd_lighting)
    return p


def _euros(text: str) -> float:
    """An amount in euros: ``1000000``, ``1.000.000``, ``1_000_000``, ``1e6`` or ``250,50``."""
    raw = str(text).strip().replace("€", "").replace(" ", "").replace("_", "")
    if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", raw):
        raw = raw.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d+,\d+", raw):
        raw = raw.replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"importo non valido: '{text}'") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"importo non valido: '{text}'")
    return value


def parse_shares(text: str, option: str) -> float | dict[str, float]:
    """``0.05`` → 0.05; ``045010=0.2,045003=0.1`` → a mapping; shares must be in 0-1."""
    text = str(text).strip()
    try:
        if "=" not in text:
            value = float(text.replace(",", "."))
            if not 0 <= value <= 1:
                raise ValueError
            return value
        out: dict[str, float] = {}
        for part in text.split(","):
            code, value = part.split("=")
            share = float(value)
            if not 0 <= share <= 1:
                raise ValueError
            out[code.strip().zfill(6)] = share
        return out
    except ValueError:
        raise ValueError(f"{option}: quota non valida '{text}' (un numero tra 0 e 1, o CODICE=QUOTA,…).") from None


def _ids(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i.strip() for v in values for i in v.split(",") if i.strip()))


def cmd_lighting(args) -> int:
    """Compute the optimal plan and write it; returns the exit code."""
    from geo.data.storage import Store
    from geo.lighting import report as lighting_report
    from geo.lighting.need import lighting_need
    from geo.lighting.plan import PlanOptions, build_candidates, optimise

    db = database(args)
    costs = CostParams(repair_eur=args.repair_eur, led_eur=args.led_eur, new_point_eur=args.new_point_eur)
    energy = EnergyParams(hours_per_year=args.hours, eur_per_kwh=args.eur_per_kwh, kg_co2_per_kwh=args.kg_co2)
    effects = EffectModel(low=args.low, central=args.central, high=args.high, diffusion=args.diffusion)
    need_params = NeedParams(rule=UnderlitRule(basis=args.base, target=args.target,
                                               underlit_below=args.underlit_below),
                             outskirts_km=args.outskirts_km)
    if args.lot_size < 0:
        raise ValueError("--lotto deve essere ≥ 0.")
    options = PlanOptions(
        budget=args.budget, perceived_weight=args.perceived_weight,
        min_share=parse_shares(args.min_share, "--quota-min"), max_share=parse_shares(args.max_share, "--quota-max"),
        force_in=_ids(args.force_in), force_out=_ids(args.force_out), outskirts_only=args.outskirts_only,
    )
    start, end = parse_month(args.inizio, "--inizio"), parse_month(args.fine, "--fine")
    if start and end and start > end:
        raise ValueError("--inizio è successivo a --fine.")
    with Store(db, read_only=True) as store:
        comuni = resolve_comuni(store, args.comune)
        need = lighting_need(store, res=args.res, comuni=comuni, start=start, end=end, params=need_params,
                             role=args.ruolo)  # protected counts for a role without clearance
        names = lighting_report.comune_names(store.comuni())
        demo = store.get_meta("demo") == "true"
        period = store.period()
    candidates = build_candidates(need, costs=costs, effects=effects, energy=energy, lot_size=args.lot_size or None)
    plan = optimise(candidates, options)
    # only an exact plan shown to a role without clearance has rows to hide (never with role=...)
    hidden = lighting_report.totals_hidden(plan, args.ruolo)
    if args.format == "csv":
        data = lighting_report.plan_csv(plan, names, role=args.ruolo)
    elif args.format == "geojson":
        meta = lighting_report.options_metadata(options, {
            "risoluzione_h3": args.res, "costi_unitari_eur": costs.key(), "effetto_basso_centrale_alto": effects.range,
            "delitti_evitati_anno": lighting_report.DERIVED_LABEL if hidden else [
                plan.totals["prevented_low"], plan.totals["prevented_central"], plan.totals["prevented_high"]],
            "costo_piano_eur": plan.totals["cost_eur"], "dati_dimostrativi": demo,
        })
        data = lighting_report.plan_geojson(plan, names, role=args.ruolo, metadata=meta).encode("utf-8")
    else:
        first, last = start or (period[0] if period else None), end or (period[1] if period else None)
        context = {"territory": Path(args.territory).name, "res": args.res, "demo": demo,
                   "comuni": ", ".join(names.get(c, c) for c in comuni) or "tutto il territorio",
                   "period": f"{first:%m/%Y} – {last:%m/%Y}" if first and last else "–"}
        params = lighting_report.parameters_table(costs, energy, effects, need_params, need.attrs)
        data = lighting_report.summary_html(plan, names=names, role=args.ruolo, options=options, parameters=params,
                                            context=context).encode("utf-8")
    write_output(args, data)
    t = plan.totals
    print(f"Piano ottimo: {t['interventions']} interventi, {format_int(t['cost_eur'])} € su "
          f"{format_int(options.budget)} € di budget ({len(candidates)} interventi possibili).", file=sys.stderr)
    print(lighting_report.effect_sentence(t, hidden=hidden), file=sys.stderr)
    print(lighting_report.energy_sentence(t), file=sys.stderr)
    for note in plan.warnings:
        print(f"Nota: {note}", file=sys.stderr)
    if args.output is not None:
        print(f"Scritto {args.output} ({args.format}).", file=sys.stderr)
    if plan.selected.empty:
        print("Nessun intervento scelto: nessun intervento possibile ha un beneficio atteso con questi dati, "
              f"filtri e vincoli (budget {format_decimal(options.budget, 0)} €).", file=sys.stderr)
    return 0
