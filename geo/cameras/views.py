"""Tables and exports of the video-surveillance analysis and plan (Italian headers, ``;`` CSV)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo import config
from geo.access.privacy import apply_suppression, format_decimal, format_int, format_percent
from geo.cameras.analysis import CoverageAnalysis
from geo.cameras.evidence import CAMERA_COSTS, CameraCost, citation_text, cost_nature
from geo.cameras.placement import Plan
from geo.data.schemas import CAMERA_OWNERS, CAMERA_STATUS, CAMERA_TYPES
from geo.zones.report import neutralise

SYNTHETIC_NOTE = "Inventario dimostrativo: telecamere generate (sintetiche), non reali."


USER_COST = "valore inserito dall'utente"


def cost_source(kind: str, cost_eur: float, costs: dict[str, CameraCost] | None = None) -> str:
    """Where the cost of a camera of ``kind`` comes from: the cost table's nature and source, or
    "valore inserito dall'utente" when the planner was given another figure."""
    ref = (costs or CAMERA_COSTS).get(kind)
    if ref is None or abs(float(cost_eur) - ref.cost_eur) > 0.005:
        return USER_COST
    return f"{cost_nature(ref)} – {ref.source}"


def plan_table(plan: Plan, names: dict[str, str], costs: dict[str, CameraCost] | None = None) -> pd.DataFrame:
    """The plan, one row per new camera, with the source of each cost."""
    c = plan.chosen
    return pd.DataFrame({
        "Codice": c["id"].astype(str), "Comune": [names.get(p, p) for p in c["pro_com_t"]],
        "Tipo": [CAMERA_TYPES.get(k, k) for k in c["kind"]],
        "Direzione (°)": c["direction_deg"], "Scuola": c["school"].astype(str),
        "Latitudine": c["lat"].round(6), "Longitudine": c["lon"].round(6),
        "Costo (€)": c["cost_eur"],
        "Fonte del costo": [cost_source(k, v, costs) for k, v in zip(c["kind"], c["cost_eur"], strict=True)],
        "Delitti/anno nel campo visivo": c["incidents_year_seen"].round(2),
    })


def inventory_table(cameras: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """The cameras a role may see (:func:`geo.cameras.inventory.visible_cameras`)."""
    return pd.DataFrame({
        "Codice": cameras["camera_id"].astype(str), "Comune": [names.get(p, p) for p in cameras["pro_com_t"]],
        "Tipo": [CAMERA_TYPES.get(k, k) for k in cameras["kind"]],
        "Proprietario": [CAMERA_OWNERS.get(o, o) for o in cameras["owner"]],
        "Stato": [CAMERA_STATUS.get(s, s) if isinstance(s, str) else "" for s in cameras["status"]],
        "Posizione": ["esatta" if e else "approssimata (centro dell'esagono)" for e in cameras["position_exact"]],
        "Sintetica": ["sì" if bool(s) else "no" for s in cameras["synthetic"]],
    })


def uncovered_table(analysis: CoverageAnalysis) -> pd.DataFrame:
    """Hot hexagons without coverage, by incidents (counts as the role may see them)."""
    u = analysis.uncovered_hot
    return pd.DataFrame({"Esagono H3": [format(int(c), "x") for c in u["cell"]],
                         "Comune": [analysis.comuni.get(p, p) for p in u["pro_com_t"]],
                         "Delitti nel periodo": u["incidents"], "Copertura": u["coverage"].round(3)})


GROUP_COLUMNS = {"incidents": "Delitti nel periodo", "covered": "Nel campo visivo", "share": "Quota coperta"}


def _group_safe(analysis: CoverageAnalysis, role: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The family x time band frame and where it is hidden from ``role``: a small total, and a
    covered part that is a small count (its share would give it away with the total)."""
    g = analysis.by_group.reset_index(drop=True)
    covered = g["covered"].to_numpy(dtype=float)
    small = pd.DataFrame({"covered": (covered > 0) & (covered < config.SUPPRESSION_THRESHOLD)})
    display, mask = apply_suppression(
        g, ["incidents", "covered"], {"share": ["incidents", "covered"]}, role, extra=small,
        formats={"covered": lambda v: format_decimal(v, 1), "share": lambda v: format_percent(v, 1)})
    return display, mask


def group_table(analysis: CoverageAnalysis, role: str | None) -> pd.DataFrame:
    """Share of incidents inside coverage per crime family and time band (Italian display strings;
    hidden figures read "< 3" or "riservato" for roles without clearance)."""
    display, _ = _group_safe(analysis, role)
    out = display[["family_label", "band_label", *GROUP_COLUMNS]].rename(
        columns={"family_label": "Famiglia di reati", "band_label": "Fascia oraria", **GROUP_COLUMNS})
    return out.reset_index(drop=True)


def group_chart(analysis: CoverageAnalysis, role: str | None) -> pd.DataFrame:
    """Covered share (%) per family (rows) and time band (columns); hidden values are missing."""
    g = analysis.by_group.reset_index(drop=True)
    _, mask = _group_safe(analysis, role)
    share = g["share"].mask(mask["share"].to_numpy()) * 100
    wide = g.assign(share=share).pivot(index="family_label", columns="band_label", values="share")
    return (wide.reindex(index=g["family_label"].unique(), columns=g["band_label"].unique())
            .rename_axis(index="Famiglia di reati", columns="Fascia oraria"))


def zones_table(zone_cov: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Coverage of the pilot zones (area shares, no incident count)."""
    return pd.DataFrame({
        "Zona": zone_cov["zone"].astype(str), "Comune": [names.get(p, p or "") for p in zone_cov["pro_com_t"]],
        "Area (km²)": [format_decimal(v, 2) for v in zone_cov["area_km2"]],
        "Area coperta (km²)": [format_decimal(v, 3) for v in zone_cov["covered_km2"]],
        "Quota coperta": [format_percent(v, 1) for v in zone_cov["share"]],
    })


def access_table(accesses: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """The access roads of the comuni and their plate readers (:mod:`geo.cameras.roads`)."""
    def state(n: int) -> str:
        return "scoperto" if n == 0 else f"coperto ({format_int(n)} {'lettore' if n == 1 else 'lettori'})"

    return pd.DataFrame({
        "Accesso": accesses["access"].astype(str),
        "Tra i comuni": [" – ".join(names.get(c, c) for c in cs) for cs in accesses["comuni"]],
        "Strada (OSM highway)": accesses["highway"].astype(str),
        "Lunghezza nelle celle di confine (m)": [format_int(v) for v in accesses["length_m"]],
        "Lettura targhe": [state(int(n)) for n in accesses["readers"]],
        "Latitudine": accesses["lat"].astype(float).round(5), "Longitudine": accesses["lon"].astype(float).round(5),
    })


def access_lines(result) -> list[str]:
    """The access roads in Italian sentences (:class:`geo.cameras.roads.AccessGaps`)."""
    from geo.cameras.roads import NO_ROADS_NOTE, POLICE_LEFT_OUT_NOTE

    if not result.has_roads:
        return [NO_ROADS_NOTE]
    acc = result.accesses
    lines = [f"Accessi stradali tra comuni: {format_int(len(acc))}; senza lettura targhe: "
             f"{format_int(int((~acc['covered']).sum()) if len(acc) else 0)}."]
    if not len(acc):
        lines.append("Nessuna strada importata attraversa un confine comunale.")
    if result.police_left_out:
        lines.append(POLICE_LEFT_OUT_NOTE)
    return lines


def kpi_lines(analysis: CoverageAnalysis) -> list[str]:
    """The coverage figures as Italian sentences."""
    k = analysis.kpis
    return [
        f"Telecamere: {format_int(k['cameras'])} (attive: {format_int(k['cameras_covering'])}); area coperta "
        f"{format_decimal(k['covered_km2'], 2)} km².",
        f"Delitti nel campo visivo: {format_percent(k['incidents_share'], 1)}.",
        f"Punti caldi (esagoni): {format_int(k['hot_total'])}, coperti in media al "
        f"{format_percent(k['hot_share'], 1)}.",
        f"Segnalazioni aperte coperte: {format_int(k['reports_covered'])} su {format_int(k['reports_total'])}.",
        f"Scuole coperte: {format_int(k['schools_covered'])} su {format_int(k['schools_total'])}.",
    ]


def cost_line(costs_eur: dict[str, float], costs: dict[str, CameraCost] | None = None) -> str:
    """The unit costs used, each with its nature (stima, prezzo documentato, valore inserito)."""
    ref = costs or CAMERA_COSTS
    parts = []
    for kind, value in costs_eur.items():
        nature = cost_source(kind, value, ref).split(" – ")[0]
        parts.append(f"{ref[kind].label if kind in ref else kind} {format_int(value)} € ({nature})")
    return "Costi unitari: " + "; ".join(parts) + ". Fonti e motivazioni nella tabella dei costi."


def plan_lines(plan: Plan, setting: str) -> list[str]:
    t = plan.totals
    kinds = ", ".join(f"{CAMERA_COSTS[k].label}: {format_int(n)}" for k, n in t["by_kind"].items())
    return [
        f"Piano ({plan.status}): {format_int(t['cameras'])} telecamere ({kinds}), costo {format_int(t['cost_eur'])} € "
        f"su {format_int(t['budget_eur'])} €.",
        f"Delitti/anno nella nuova copertura: {format_decimal(t['incidents_year_covered'], 1)}; evitati attesi "
        f"{format_decimal(t['prevented_central'], 1)} (intervallo {format_decimal(t['prevented_low'], 1)}–"
        f"{format_decimal(t['prevented_high'], 1)}).",
        citation_text(setting),
    ]


COORDINATE_COLUMNS = ("Latitudine", "Longitudine")


def italian(frame: pd.DataFrame) -> pd.DataFrame:
    """A display copy of a table with its numbers in Italian format ("2.500", "44,07760", "–" when
    missing): whole-valued columns without decimals, coordinates with five, the rest with two.
    The CSV exports keep the numbers (:func:`to_csv` writes decimal commas)."""
    out = frame.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col]):
            continue
        values = out[col].astype(float)
        finite = values[np.isfinite(values)]
        if col in COORDINATE_COLUMNS:
            out[col] = [format_decimal(v, 5) for v in values]
        elif len(finite) and (finite == finite.round()).all():
            out[col] = [format_int(v) for v in values]
        else:
            out[col] = [format_decimal(v, 2) for v in values]
    return out


def to_csv(frame: pd.DataFrame) -> bytes:
    """CSV for Italian spreadsheets: ``;``, decimal comma, UTF-8 with BOM, formulas neutralised."""
    return frame.map(neutralise).to_csv(sep=";", decimal=",", index=False).encode("utf-8-sig")


def camera_map(cameras: pd.DataFrame, footprints, police_hex: pd.Series, comuni: pd.DataFrame, *,
               plan: Plan | None = None, assets_url: str | None = None, accesses: pd.DataFrame | None = None,
               names: dict[str, str] | None = None):
    """Folium map: footprints the role may see, police coverage per hexagon, cameras (police ones
    at their hexagon's centre for roles without clearance), the plan; fitted to the territory."""
    import html

    import folium

    from geo.data import hexgrid
    from geo.maps import layers as maps

    m = maps.base_map(assets_url=assets_url, comuni=comuni)
    if len(comuni):
        maps.OutlineLayer(maps.comuni_features(comuni), name="Confini comunali",
                          style={"color": "#1f2937", "weight": 1.2}, bounds=None).add_to(m)
    if footprints is not None and len(footprints):
        shown = footprints[~footprints.geometry.is_empty].to_crs(4326)
        if len(shown):
            folium.GeoJson(shown[["geometry"]].to_json(), name="Campo visivo",
                           style_function=lambda _f: {"color": "#0066CC", "weight": 1, "fillOpacity": 0.3}).add_to(m)
    if len(police_hex):
        polys = hexgrid.cells_frame(police_hex.index.to_numpy()).assign(copertura=police_hex.to_numpy())
        folium.GeoJson(polys.to_json(), name="Copertura forze di polizia (per esagono)",
                       style_function=lambda f: {"color": "#6b21a8", "weight": 1,
                                                 "fillOpacity": 0.15 + 0.6 * f["properties"]["copertura"]},
                       tooltip=folium.GeoJsonTooltip(["copertura"], aliases=["Quota coperta"])).add_to(m)
    group = folium.FeatureGroup(name="Telecamere")
    for rec in cameras.itertuples(index=False):
        text = (f"{html.escape(str(rec.camera_id))}<br>{html.escape(CAMERA_TYPES.get(rec.kind, str(rec.kind)))}"
                f"<br>{html.escape(CAMERA_OWNERS.get(rec.owner, str(rec.owner)))}"
                + ("" if rec.position_exact else "<br>posizione approssimata (centro dell'esagono)"))
        folium.CircleMarker([rec.lat, rec.lon], radius=4, color="#111827" if rec.position_exact else "#6b21a8",
                            fill=True, fill_opacity=0.9, tooltip=folium.Tooltip(text)).add_to(group)
    group.add_to(m)
    if plan is not None and len(plan.chosen):
        new = folium.FeatureGroup(name="Nuove telecamere (piano)")
        for rec in plan.chosen.itertuples(index=False):
            folium.CircleMarker([rec.lat, rec.lon], radius=6, color="#B3261E", fill=True, fill_opacity=0.9,
                                tooltip=folium.Tooltip(html.escape(f"{rec.id} – "
                                                                   f"{CAMERA_TYPES.get(rec.kind, rec.kind)}"))
                                ).add_to(new)
        new.add_to(m)
    if accesses is not None and len(accesses):
        gates = folium.FeatureGroup(name="Accessi stradali (lettura targhe)")
        for rec in accesses.itertuples(index=False):
            between = " – ".join((names or {}).get(c, c) for c in rec.comuni)
            text = (f"{html.escape(str(rec.access))} – {html.escape(str(rec.highway))}<br>{html.escape(between)}"
                    f"<br>{'coperto da lettura targhe' if rec.covered else 'senza lettura targhe'}")
            folium.RegularPolygonMarker([rec.lat, rec.lon], number_of_sides=4, radius=7, weight=2,
                                        color="#15803d" if rec.covered else "#B3261E", fill=True, fill_opacity=0.8,
                                        tooltip=folium.Tooltip(text)).add_to(gates)
        gates.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    if len(comuni):
        view = maps.comuni_shapes(comuni)
        import shapely

        x0, y0, x1, y1 = shapely.total_bounds(view)
        m.fit_bounds([[y0, x0], [y1, x1]])
    return m


def frontier_frame(front: pd.DataFrame) -> pd.DataFrame:
    """The frontier for a chart: budget (k€) → prevented incidents/year low, central, high."""
    return pd.DataFrame({"Budget (k€)": front["budget_eur"] / 1000, "Basso": front["prevented_low"],
                         "Centrale": front["prevented_central"], "Alto": front["prevented_high"]}
                        ).set_index("Budget (k€)")
