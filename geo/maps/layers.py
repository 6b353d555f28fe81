"""The integrated map: an H3 choropleth, the comuni boundaries and the point layers, as folium.

No Streamlit here: :func:`build_map` returns a :class:`folium.Map` that a page hands to
``st_folium`` and a notebook displays as it is.

Payload
-------
Leaflet slows down with thousands of polygons and streamlit-folium sends the whole map script to
the browser on every change (folium #1746), so the layers are written compactly instead of through
:class:`folium.GeoJson` with a Python ``style_function`` and a ``GeoJsonTooltip``:

* coordinates rounded to :data:`COORD_DECIMALS` decimals (about 1 m), compact JSON;
* each hexagon carries only its class code ``k`` and the display texts of its tooltip ``t``;
  colours, labels and the tooltip builder are written once per layer in JavaScript;
* hexagons with nothing in them (no residents, incidents or points) are not drawn: the comuni
  boundaries still show the territory;
* the canvas renderer (``prefer_canvas``) draws thousands of polygons faster than SVG.

Privacy and safety
------------------
Which hexagons are drawn, their colour classes, tooltips and exports all come from the figures the
role may see (:func:`geo.overview.metrics.protect_frame`, the cell-key method): nothing on the map
depends on an exact count a role without clearance may not read. Every text that may come from a
user (report descriptions, names of schools and services, addresses) is escaped with
:func:`html.escape`, and JSON embedded in the page escapes ``<``, ``>`` and ``&``, so no input can
close the ``<script>`` or inject markup.
"""

from __future__ import annotations

import html
import json
from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

import folium
import numpy as np
import pandas as pd
import shapely
from folium.map import Layer
from folium.template import Template

from geo.access.disclosure import PROTECTED_NOTE
from geo.access.privacy import can_see_exact, format_decimal
from geo.data import hexgrid
from geo.data.schemas import (
    OPEN_REPORT_STATUS,
    REPORT_CATEGORIES,
    REPORT_SEVERITY,
    REPORT_STATUS,
    SCHOOL_LEVELS,
    SERVICE_TYPES,
)
from geo.maps.classes import HIDDEN, HIDDEN_COLOR, NO_DATA, NO_DATA_COLOR, SCHEMES, Classification, classify
from geo.overview.metrics import METRICS, TABLE_COLUMNS, map_table, protect_frame, suppress_frame
from geo.overview.places import place_label

#: Decimals kept in coordinates: 5 decimals of a degree are about 1 m at these latitudes.
COORD_DECIMALS = 5
#: Hexagons above which :func:`build_map` refuses to draw (Leaflet becomes unusable).
MAX_MAP_CELLS = 15_000
#: Base maps. OpenStreetMap tiles need internet; without it the map stays usable on a blank
#: background because boundaries and hexagons do not depend on tiles.
TILES: dict[str, str] = {"osm": "OpenStreetMap", "none": "Nessuno sfondo"}
OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
#: Leaflet release that folium 0.20 declares (used when no local copy is given).
LEAFLET_CDN = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist"
#: Where the dashboard serves its own copy of Leaflet (``static/vendor/leaflet``, Streamlit's static
#: file serving), relative to a page's component iframe: the maps work offline.
LEAFLET_APP_URL = "../../app/static/vendor/leaflet"


class PointLayer(NamedTuple):
    """A toggleable point layer: Italian name, short name (for buttons), table of
    :meth:`geo.data.storage.Store.points`, colour (Okabe-Ito palette, distinguishable with
    colour-vision deficiencies), shown on opening."""

    label: str
    short: str
    table: str
    color: str
    show: bool = True


POINT_LAYERS: dict[str, PointLayer] = {
    "schools": PointLayer("Scuole", "Scuole", "schools", "#0072B2"),
    "services": PointLayer("Servizi per persone senza dimora", "Servizi senza dimora", "services", "#009E73"),
    "reports": PointLayer("Segnalazioni di degrado aperte", "Segnalazioni aperte", "reports", "#D55E00"),
    "confiscated": PointLayer("Beni confiscati", "Beni confiscati", "confiscated", "#CC79A7"),
}

#: Figures of the hexagon tooltip, after the comune's name.
TOOLTIP_FIELDS: tuple[tuple[str, str], ...] = (
    ("incidents", "Delitti"),
    ("rate_per_1000", "Ogni 1.000 residenti all'anno"),
    ("night_share", "Quota notturna"),
    ("reports_open", "Segnalazioni aperte"),
    ("lights", "Punti luce"),
    ("lights_broken_share", "Punti luce guasti"),
    ("schools", "Scuole"),
    ("services", "Servizi senza dimora"),
)

_DESCRIPTION_CHARS = 280
#: Compact controls and tooltips (the host page's CSS would otherwise enlarge them).
MAP_CSS = (
    ".leaflet-container{font:12px/1.4 'Source Sans Pro',Helvetica,Arial,sans-serif}"
    ".leaflet-control-layers-expanded{font-size:12px;line-height:1.5;padding:4px 8px 4px 6px}"
    ".leaflet-control-layers label{margin:0}"
    ".leaflet-tooltip,.leaflet-tooltip table,.leaflet-popup-content{font-size:12px;line-height:1.35}"
    ".leaflet-tooltip table{border-collapse:collapse;margin-top:2px}"
    ".leaflet-tooltip th,.leaflet-tooltip td{padding:0 0 0 0;font-size:12px}"
)


# --------------------------------------------------------------------------------------------
# Safe, compact JSON for the page
# --------------------------------------------------------------------------------------------

def js_json(obj: object) -> str:
    """Compact JSON safe inside an HTML ``<script>``: ``<``, ``>``, ``&`` and the JavaScript line
    separators are written as ``\\uXXXX`` escapes (same rule as Jinja's ``tojson``)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def _missing(value: object) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _esc(value: object) -> str:
    """User text for HTML: escaped; missing values as an empty string."""
    return "" if _missing(value) else html.escape(str(value), quote=True)


def _ring(cell: int, decimals: int = COORD_DECIMALS) -> list[list[float]]:
    coords = hexgrid._boundary(int(cell))  # cached (lon, lat) tuples
    ring = [[round(lon, decimals), round(lat, decimals)] for lon, lat in coords]
    return [*ring, ring[0]]


def _bounds_of(lons: Sequence[float], lats: Sequence[float]) -> list[list[float]] | None:
    if len(lons) == 0:
        return None
    return [[float(np.min(lats)), float(np.min(lons))], [float(np.max(lats)), float(np.max(lons))]]


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------

class _JsonLayer(Layer):
    """A GeoJSON layer whose data are written once as compact JSON (see the module notes)."""

    def __init__(self, data: dict, *, name: str, bounds: list[list[float]] | None, show: bool = True,
                 control: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "GeoJson"
        self.data_js = js_json(data)
        self._bounds = bounds

    def _get_self_bounds(self) -> list[list[float | None]]:
        return self._bounds or [[None, None], [None, None]]


class HexLayer(_JsonLayer):
    """Hexagons coloured by class, with a tooltip built from their display texts."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }}_colors = {{ this.colors_js }};
        var {{ this.get_name() }}_labels = {{ this.labels_js }};
        function {{ this.get_name() }}_style(feature) {
            var k = feature.properties.k;
            return {fillColor: {{ this.get_name() }}_colors[k], fillOpacity: k === -1 ? 0.25 : 0.72,
                    color: "#5f6b7a", weight: 0.4, opacity: 0.8};
        }
        var {{ this.get_name() }} = L.geoJson({{ this.data_js }}, {
            style: {{ this.get_name() }}_style,
            onEachFeature: function (feature, layer) {
                layer.bindTooltip(function () {
                    var t = feature.properties.t, labels = {{ this.get_name() }}_labels;
                    var out = "<b>" + t[0] + "</b><table>";
                    for (var i = 1; i < t.length; i++) {
                        out += "<tr><th style='text-align:left;font-weight:normal;padding-right:10px'>"
                            + labels[i] + "</th><td style='text-align:right'>" + t[i] + "</td></tr>";
                    }
                    return out + "</table>";
                }, {sticky: true});
                layer.on("mouseover", function (e) { e.target.setStyle({weight: 2.5, color: "#111"}); });
                layer.on("mouseout", function (e) { e.target.setStyle({{ this.get_name() }}_style(feature)); });
            }
        });
        {% endmacro %}
        """
    )

    def __init__(self, data: dict, *, name: str, colors: Mapping[int, str], labels: Sequence[str],
                 bounds: list[list[float]] | None) -> None:
        super().__init__(data, name=name, bounds=bounds)
        self.colors_js = js_json({str(k): v for k, v in colors.items()})
        self.labels_js = js_json([html.escape(label) for label in labels])


class OutlineLayer(_JsonLayer):
    """Lines only, not clickable (clicks reach the hexagons below)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data_js }}, {
            interactive: false,
            style: {{ this.style_js }}
        });
        {% endmacro %}
        """
    )

    def __init__(self, data: dict, *, name: str, style: Mapping[str, object], bounds: list[list[float]] | None,
                 control: bool = False) -> None:
        super().__init__(data, name=name, bounds=bounds, control=control)
        self.style_js = js_json(dict(style))


class PointsLayer(_JsonLayer):
    """Circle markers with a tooltip (``n``) and a popup built from the row labels of the layer
    and each point's escaped values ``v`` (empty values are skipped)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }}_labels = {{ this.labels_js }};
        var {{ this.get_name() }} = L.geoJson({{ this.data_js }}, {
            pointToLayer: function (feature, latlng) {
                return L.circleMarker(latlng, {radius: 5, color: "#ffffff", weight: 1.2,
                                               fillColor: {{ this.color_js }}, fillOpacity: 0.95});
            },
            onEachFeature: function (feature, layer) {
                var p = feature.properties;
                layer.bindTooltip(p.n);
                layer.bindPopup(function () {
                    var out = "<b>" + p.n + "</b>", labels = {{ this.get_name() }}_labels;
                    for (var i = 0; i < p.v.length; i++) {
                        if (p.v[i] !== "") {
                            out += "<br><span style='color:#555'>" + labels[i] + ":</span> " + p.v[i];
                        }
                    }
                    return out;
                }, {maxWidth: 320});
            }
        });
        {% endmacro %}
        """
    )

    def __init__(self, data: dict, *, name: str, labels: Sequence[str], color: str, show: bool,
                 bounds: list[list[float]] | None) -> None:
        super().__init__(data, name=name, bounds=bounds, show=show)
        self.labels_js = js_json([html.escape(label) for label in labels])
        self.color_js = js_json(color)


class Legend(folium.MacroElement):
    """The choropleth's legend, a Leaflet control in the bottom-left corner (the sea, here)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "bottomleft"});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", "lanterna-legend");
            div.style.cssText = "background:rgba(255,255,255,.92);padding:6px 9px;border-radius:4px;"
                + "box-shadow:0 1px 4px rgba(0,0,0,.3);font:12px/1.35 sans-serif;color:#1a1a1a;max-width:230px";
            div.innerHTML = {{ this.html_js }};
            L.DomEvent.disableClickPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, title: str, entries: Sequence[tuple[str, str]], note: str = "") -> None:
        super().__init__()
        self._name = "Legend"
        swatch = ("<span style='display:inline-block;width:14px;height:11px;margin-right:6px;"
                  "vertical-align:-1px;border:1px solid #8a8a8a;background:{}'></span>")
        rows = "".join(f"<div>{swatch.format(html.escape(c))}{html.escape(label)}</div>" for c, label in entries)
        note_html = f"<div style='margin-top:4px;color:#555'>{html.escape(note)}</div>" if note else ""
        self.html_js = js_json(f"<b>{html.escape(title)}</b>{rows}{note_html}")


#: Options of Leaflet's ``L.control.scale``: metric units only.
SCALE_OPTIONS: dict[str, bool] = {"metric": True, "imperial": False}


class MetricScale(folium.MacroElement):
    """Leaflet's scale bar in metres and kilometres only (folium's ``control_scale=True`` adds
    ``L.control.scale()``, whose default also shows miles and feet)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({{ this.options_js }}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )


    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"
        self.options_js = js_json(SCALE_OPTIONS)


# --------------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------------

def drawable(frame: pd.DataFrame) -> pd.Series:
    """Hexagons worth drawing: someone lives there, or something happened or stands there."""
    cols = ["incidents", "reports_open", "lights", "schools", "services", "confiscated"]
    return (frame["residents"] >= 1) | (frame[cols] > 0).any(axis=1)


def map_classes(frame: pd.DataFrame, *, metric: str, role: str | None, scheme: str = "quantiles",
                k: int = 5) -> Classification:
    """Legend classes of ``metric`` over ``frame``, on the values ``role`` may see
    (:func:`geo.overview.metrics.protect_frame`)."""
    spec = METRICS[metric]
    frame = protect_frame(frame, role)
    return classify(frame[spec.column], scheme=scheme, k=k, hidden=None, higher_is_worse=spec.higher_is_worse,
                    integer=spec.kind == "count", fmt=None if spec.kind == "count" else _legend_format(spec.kind))


def _legend_format(kind: str):
    if kind == "share":
        return lambda v: f"{format_decimal(v * 100, 0)} %"
    return lambda v: format_decimal(v, 1)


def hex_features(frame: pd.DataFrame, classes: pd.Series, *, role: str | None) -> dict:
    """Compact FeatureCollection of hexagons: properties ``k`` (class code) and ``t`` (the place,
    "Marina di Carrara (Carrara)", or the comune name, then the :data:`TOOLTIP_FIELDS` texts, as
    ``role`` may see them, HTML-escaped)."""
    cols = [c for c, _ in TOOLTIP_FIELDS]
    display, _ = suppress_frame(frame, role, columns=cols)
    texts = display.astype(str).map(html.escape).to_numpy()
    if "place" in frame:
        names = [_esc(place_label(p, c)) for p, c in zip(frame["place"], frame["comune"], strict=True)]
    else:
        names = [_esc(n) for n in frame["comune"]]
    features = [
        {"type": "Feature", "properties": {"k": int(code), "t": [name, *row]},
         "geometry": {"type": "Polygon", "coordinates": [_ring(cell)]}}
        for cell, code, name, row in zip(frame["cell"], classes, names, texts.tolist(), strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def comuni_shapes(comuni: pd.DataFrame) -> np.ndarray:
    """Shapely geometries of the ``geometry_wkb`` column (DuckDB returns BLOBs as bytearray)."""
    return shapely.from_wkb([bytes(b) for b in comuni["geometry_wkb"]])


def comuni_features(comuni: pd.DataFrame, *, tolerance: float = 0.0002) -> dict:
    """Comuni boundaries (from :meth:`geo.data.storage.Store.comuni_geometries`) as lines, simplified
    by ``tolerance`` degrees (about 20 m) and rounded: they are drawn, not measured."""
    geoms = comuni_shapes(comuni)
    lines = shapely.boundary(shapely.simplify(geoms, tolerance, preserve_topology=True))
    features = []
    for name, line in zip(comuni["nome"], lines, strict=True):
        geometry = json.loads(shapely.to_geojson(shapely.set_precision(line, 10 ** -COORD_DECIMALS)))
        features.append({"type": "Feature", "properties": {"n": _esc(name)}, "geometry": geometry})
    return {"type": "FeatureCollection", "features": features}


def _date(value: object) -> str:
    if _missing(value):
        return ""
    return pd.Timestamp(value).strftime("%d/%m/%Y")


def _types(value: object) -> str:
    items = list(value) if isinstance(value, list | tuple | np.ndarray) else []
    return ", ".join(SERVICE_TYPES.get(str(t), str(t)) for t in items)


def visible_points(layer: str, points: pd.DataFrame, *, role: str | None) -> pd.DataFrame:
    """The rows of a point layer a role may see on the map: only open degradation reports, and
    homeless services with ``public = false`` only for cleared roles."""
    if layer == "reports":
        points = points[points["status"].isin(OPEN_REPORT_STATUS)]
    if layer == "services" and not can_see_exact(role):
        points = points[points["public"].fillna(True).astype(bool)]
    return points


#: Rows of each point layer's popup.
POPUP_LABELS: dict[str, tuple[str, ...]] = {
    "schools": ("Grado", "Indirizzo", "Codice meccanografico"),
    "services": ("Servizi", "Gestore", "Orari", "Posti"),
    "reports": ("Stato", "Gravità", "Aperta il", "Descrizione", "Codice"),
    "confiscated": ("Tipologia", "Categoria", "Stato", "Destinazione", "Indirizzo"),
}


def _point_texts(layer: str, rec: Mapping[str, object], *, with_text: bool = True) -> tuple[object, list[object]]:
    """Title and popup values (in :data:`POPUP_LABELS` order) of one point, unescaped; a report's
    description only ``with_text``."""
    if layer == "schools":
        return rec.get("name"), [SCHOOL_LEVELS.get(rec.get("level"), rec.get("level")), rec.get("address"),
                                 rec.get("code")]
    if layer == "services":
        return rec.get("name"), [_types(rec.get("types")), rec.get("operator"), rec.get("hours"),
                                 rec.get("capacity")]
    if layer == "reports":
        description = rec.get("description") if with_text else None
        if isinstance(description, str) and len(description) > _DESCRIPTION_CHARS:
            description = description[:_DESCRIPTION_CHARS] + "…"
        severity = rec.get("severity")
        return REPORT_CATEGORIES.get(rec.get("category"), rec.get("category")), [
            REPORT_STATUS.get(rec.get("status"), rec.get("status")),
            "" if _missing(severity) else REPORT_SEVERITY.get(int(severity), severity),
            _date(rec.get("opened")), description, rec.get("report_id")]
    if layer == "confiscated":
        return rec.get("nome") or rec.get("tipologia") or "Bene confiscato", [
            rec.get("tipologia"), rec.get("categoria"), rec.get("stato"), rec.get("destinazione"),
            rec.get("indirizzo")]
    raise ValueError(f"livello di punti sconosciuto: {layer}")


def point_features(layer: str, points: pd.DataFrame, *, role: str | None,
                   report_text_comuni: Collection[str] | None = None) -> dict:
    """Compact FeatureCollection of a point layer: ``n`` (title) and ``v`` (popup values in
    :data:`POPUP_LABELS` order), all HTML-escaped. ``report_text_comuni``: the comuni whose
    report descriptions the viewer may read (free text written by officers); None: all."""
    features = []
    for rec in visible_points(layer, points, role=role).to_dict("records"):
        with_text = report_text_comuni is None or rec.get("pro_com_t") in report_text_comuni
        title, values = _point_texts(layer, rec, with_text=with_text)
        features.append({
            "type": "Feature",
            "properties": {"n": _esc(title), "v": [_esc(v) for v in values]},
            "geometry": {"type": "Point", "coordinates": [round(float(rec["lon"]), COORD_DECIMALS),
                                                          round(float(rec["lat"]), COORD_DECIMALS)]},
        })
    return {"type": "FeatureCollection", "features": features}


# --------------------------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------------------------

class TooManyCellsError(ValueError):
    """More hexagons than a browser map can draw; the message is Italian."""


def use_assets(m: folium.Map, assets_url: str | None) -> folium.Map:
    """Load Leaflet from ``assets_url`` (a folder with ``leaflet.js``, ``leaflet.css``,
    ``images/``) or from the CDN, and drop folium's other default assets (jQuery, Bootstrap,
    Font Awesome): these layers do not use them, and each is one more download that fails
    offline and blocks streamlit-folium's loader."""
    base = (assets_url or LEAFLET_CDN).rstrip("/")
    m.default_js = [("leaflet", f"{base}/leaflet.js")]
    m.default_css = [("leaflet_css", f"{base}/leaflet.css")]
    return m


def use_draw_assets(draw, assets_url: str | None):
    """Load Leaflet.draw (``folium.plugins.Draw``) from the local copy beside ``assets_url``
    (``…/vendor/leaflet`` → ``…/vendor/leaflet-draw``) instead of the CDN, so that drawing an area
    works offline too. Without ``assets_url`` folium's CDN defaults stay."""
    if assets_url:
        base = assets_url.rstrip("/").rsplit("/", 1)[0] + "/leaflet-draw"
        draw.default_js = [("leaflet_draw_js", f"{base}/leaflet.draw.js")]
        draw.default_css = [("leaflet_draw_css", f"{base}/leaflet.draw.css")]
    return draw


#: Where a map without any territory geometry starts (the centre of Italy).
ITALY_VIEW: tuple[tuple[float, float], int] = ((42.5, 12.5), 6)


def start_view(comuni: pd.DataFrame | None = None) -> tuple[list[float], int]:
    """Initial ``[lat, lon]`` and zoom of a map: the centre of the comuni's bounds, at a zoom that
    shows their extent (the maps then fit the bounds of their layers); Italy without comuni."""
    if comuni is None or not len(comuni):
        return list(ITALY_VIEW[0]), ITALY_VIEW[1]
    x0, y0, x1, y1 = shapely.total_bounds(comuni_shapes(comuni))
    extent = max(x1 - x0, (y1 - y0) * 1.4, 1e-3)
    zoom = int(np.clip(np.floor(np.log2(360.0 / extent)) + 1, 6, 14))
    return [float((y0 + y1) / 2), float((x0 + x1) / 2)], zoom


def comuni_bounds(comuni: pd.DataFrame, selected: Collection[str]) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of the ``selected`` comuni (ISTAT codes) of a
    :meth:`geo.data.storage.Store.comuni_geometries` frame; None when none of them is there."""
    chosen = comuni[comuni["pro_com_t"].isin(list(selected))] if len(selected) else comuni.iloc[0:0]
    if chosen.empty:
        return None
    x0, y0, x1, y1 = shapely.total_bounds(comuni_shapes(chosen))
    return [[float(y0), float(x0)], [float(y1), float(x1)]]


def fit_to_comuni(m: folium.Map, comuni: pd.DataFrame, selected: Collection[str]) -> folium.Map:
    """The map opened on the ``selected`` comuni (the sidebar filter) instead of its own extent;
    unchanged when nothing is selected. Added last, this fit wins over the map's own."""
    bounds = comuni_bounds(comuni, selected)
    if bounds is not None:
        m.fit_bounds(bounds)
        m.location = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    return m


def base_map(*, tiles: str = "osm", assets_url: str | None = None, location: Sequence[float] | None = None,
             zoom_start: int | None = None, comuni: pd.DataFrame | None = None) -> folium.Map:
    """An empty Lanterna map: canvas renderer, metric scale bar (:class:`MetricScale`), Leaflet from ``assets_url``
    (:func:`use_assets`), compact controls (:data:`MAP_CSS`) and the base map ``tiles``
    (:data:`TILES`). Every map of the dashboard starts here, at ``location`` or else at the
    territory of ``comuni`` (:func:`start_view`)."""
    if tiles not in TILES:
        raise ValueError(f"sfondo sconosciuto: {tiles}")
    view, zoom = start_view(comuni)
    location = list(location) if location is not None else view
    zoom_start = zoom_start if zoom_start is not None else zoom
    m = folium.Map(location=location, zoom_start=zoom_start, tiles=None, prefer_canvas=True,
                   control_scale=False)
    MetricScale().add_to(m)
    use_assets(m, assets_url)
    m.get_root().header.add_child(folium.Element(f"<style>{MAP_CSS}</style>"), name="lanterna_css")
    if tiles == "osm":
        folium.TileLayer(OSM_URL, attr=OSM_ATTRIBUTION, name=TILES["osm"], max_zoom=19, control=False).add_to(m)
    return m


def build_map(
    frame: pd.DataFrame,
    *,
    role: str | None,
    metric: str = "incidents",
    scheme: str = "quantiles",
    k: int = 5,
    comuni: pd.DataFrame | None = None,
    points: Mapping[str, pd.DataFrame] | None = None,
    tiles: str = "osm",
    assets_url: str | None = None,
    report_text_comuni: Collection[str] | None = None,
) -> folium.Map:
    """The integrated map of a :func:`geo.overview.metrics.hex_metrics` frame.

    Parameters
    ----------
    frame
        Figures per hexagon (exact; the protection for ``role`` happens here).
    role
        Viewer's role (:mod:`geo.access.privacy`).
    metric, scheme, k
        Choropleth metric (:data:`geo.overview.metrics.METRICS`), classification (:data:`SCHEMES`) and
        number of classes.
    comuni
        Boundaries (:meth:`geo.data.storage.Store.comuni_geometries`), always drawn.
    points
        Point layers to add, keyed by :data:`POINT_LAYERS` (frames of
        :meth:`geo.data.storage.Store.points`); each is an overlay of the layer control.
    tiles
        ``"osm"`` or ``"none"`` (:data:`TILES`).
    assets_url
        Where Leaflet is served (see :func:`use_assets`); None: the CDN.
    report_text_comuni
        Comuni whose report descriptions appear in the popups (:func:`point_features`); None:
        all of them.

    Raises
    ------
    TooManyCellsError
        When more than :data:`MAX_MAP_CELLS` hexagons would be drawn.
    """
    if metric not in METRICS:
        raise ValueError(f"indicatore sconosciuto: {metric}")
    if scheme not in SCHEMES:
        raise ValueError(f"metodo di classificazione sconosciuto: {scheme}")
    frame = protect_frame(frame, role)  # what is drawn, coloured and sorted is what the role may see
    cells = frame[drawable(frame)].reset_index(drop=True)
    if len(cells) > MAX_MAP_CELLS:
        raise TooManyCellsError(
            f"Troppi esagoni da disegnare ({len(cells):,}".replace(",", ".")
            + f"; massimo {MAX_MAP_CELLS:,}).".replace(",", ".")
            + " Scegliere una risoluzione meno fine o meno comuni."
        )
    spec = METRICS[metric]
    classes = map_classes(cells, metric=metric, role=role, scheme=scheme, k=k)

    m = base_map(tiles=tiles, assets_url=assets_url, comuni=comuni)

    lats, lons = hexgrid.cell_centers(cells["cell"].to_numpy())
    colors = dict(enumerate(classes.colors)) | {NO_DATA: NO_DATA_COLOR, HIDDEN: HIDDEN_COLOR}
    HexLayer(
        hex_features(cells, classes.classes, role=role),
        name=f"Esagoni: {spec.label}",
        colors=colors,
        labels=["", *(label for _, label in TOOLTIP_FIELDS)],
        bounds=_bounds_of(lons, lats),
    ).add_to(m)

    bounds = _bounds_of(lons, lats)
    if comuni is not None and len(comuni):
        data = comuni_features(comuni)
        x0, y0, x1, y1 = shapely.total_bounds(comuni_shapes(comuni))
        OutlineLayer(data, name="Confini comunali", style={"color": "#1f2937", "weight": 1.6, "opacity": 0.9},
                     bounds=[[y0, x0], [y1, x1]]).add_to(m)
        bounds = [[y0, x0], [y1, x1]]

    for key, frame_points in (points or {}).items():
        spec_points = POINT_LAYERS[key]
        data = point_features(key, frame_points, role=role, report_text_comuni=report_text_comuni)
        coords = [f["geometry"]["coordinates"] for f in data["features"]]
        PointsLayer(
            data, name=f"{spec_points.label} ({len(coords)})", labels=POPUP_LABELS[key], color=spec_points.color,
            show=spec_points.show,
            bounds=_bounds_of([c[0] for c in coords], [c[1] for c in coords]),
        ).add_to(m)

    entries = [(c, label) for c, label in zip(classes.colors, classes.labels, strict=True)]
    codes = set(classes.classes.unique())
    if NO_DATA in codes:
        entries.append((NO_DATA_COLOR, "Non calcolabile"))
    note = f"Classi: {SCHEMES[scheme]}. Esagoni senza residenti né dati non disegnati."
    Legend(spec.label, entries, note).add_to(m)

    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    if bounds:
        m.fit_bounds(bounds)
        m.location = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    return m


def selection_layer(cell: int) -> folium.FeatureGroup:
    """A thick outline around the selected hexagon, for ``st_folium(feature_group_to_add=...)``
    (added without reloading the map)."""
    return outline_layer([cell], name="Esagono selezionato", color="#0066CC", weight=4)


#: Outline colours of hot and cold hexagons (ColorBrewer RdBu ends, as on Zone pilota).
HOT_OUTLINE = "#B2182B"
COLD_OUTLINE = "#2166AC"


def outline_layer(cells: Sequence[int] | np.ndarray, *, name: str, color: str, weight: float = 2.5,
                  dash: str | None = None) -> folium.FeatureGroup:
    """Outlines of hexagons (not clickable), for ``st_folium(feature_group_to_add=...)``."""
    group = folium.FeatureGroup(name=name, control=False)
    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [_ring(int(c))]}}
        for c in cells]}
    style = {"color": color, "weight": weight, "fill": False, **({"dashArray": dash} if dash else {})}
    OutlineLayer(data, name=name, style=style, bounds=None).add_to(group)
    return group


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------

#: Property names of the GeoJSON export (Italian, GIS-friendly).
EXPORT_KEYS: dict[str, str] = {
    "h3": "h3",
    "comune": "comune",
    "place": "localita",
    "residents": "residenti",
    "incidents": "delitti",
    "rate_per_1000": "delitti_1000_residenti_anno",
    "per_km2": "delitti_km2_anno",
    "night_share": "quota_notturna_pct",
    "reports_open": "segnalazioni_aperte",
    "lights": "punti_luce",
    "lights_broken_share": "punti_luce_guasti_pct",
    "schools": "scuole",
    "services": "servizi_senza_dimora",
    "confiscated": "beni_confiscati",
}


def _json_value(v: object) -> object:
    if isinstance(v, str) or v is None:
        return v
    if pd.isna(v):
        return None
    return int(v) if float(v).is_integer() else round(float(v), 4)


def cells_geojson(frame: pd.DataFrame, *, role: str | None, metadata: Mapping[str, object] | None = None) -> bytes:
    """The map's figures as a GeoJSON file (UTF-8): one hexagon per feature, figures a role may
    see (hidden ones are ``null`` and listed in ``valori_riservati``), 6-decimal coordinates."""
    values, _, hidden = map_table(frame, role)
    headers = {TABLE_COLUMNS[c]: EXPORT_KEYS[c] for c in TABLE_COLUMNS}
    values = values.rename(columns=headers)
    hidden = hidden.rename(columns=headers)
    features = []
    for cell, row, hid in zip(frame["cell"], values.to_dict("records"), hidden.to_dict("records"), strict=True):
        props = {key: _json_value(v) for key, v in row.items()}
        props["valori_riservati"] = [key for key, h in hid.items() if h]
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": "Polygon", "coordinates": [_ring(cell, 6)]}})
    note = PROTECTED_NOTE if not can_see_exact(role) else "Valori esatti (profilo autorizzato)"
    collection = {"type": "FeatureCollection", "name": "lanterna_esagoni",
                  "lanterna": {"riservatezza": note, **dict(metadata or {})}, "features": features}
    return json.dumps(collection, ensure_ascii=False, default=str).encode("utf-8")

