"""Territories: a province described by a folder of data files, no code.

Folder format (documented in the README, "Territory folder format"):

``territory.json``
    ``code`` (ISTAT province code), ``name``, ``sigla``, ``nuts3`` (the ``REF_AREA`` of the
    ISTAT crime table ``data/national/istat_delitti_province_2014_2024.csv``), ``region``,
    ``capoluogo`` (PRO_COM_T of the capoluogo), optional ``metric_crs`` (a projected CRS for
    distances; the UTM zone of the centroid is used when absent), ``files``: for each file its
    ``path``, ``source``, ``licence`` and reference ``year``, and optional ``pact``
    (:data:`DEFAULT_PACT`: name, date, articles, regional price list, attributions).
``comuni.geojson`` (required)
    comune polygons with ``pro_com_t`` (6-character ISTAT code) and ``nome``.
``popolazione.csv`` (required)
    ``pro_com_t``, ``residenti``, ``anno``.
``localita.geojson``, ``scuole.geojson``, ``beni_confiscati.geojson``, ``delitti_ufficiali.csv``,
``popolazione_griglia.csv`` (optional)
    localities (``nome``, ``tipo``, ``abitanti``), schools, confiscated properties, official crime
    totals (``anno``, ``categoria``, ``delitti``, ``fonte``), and a real population grid
    (``cell`` H3 or ``lat``/``lon``, ``residenti``) that replaces the dasymetric estimate.
``costi_telecamere.csv`` (optional)
    the territory's installed cost per camera type with its ``fonte`` (columns and defaults in
    ``data/national/costi_telecamere.csv``, read by :mod:`geo.cameras.evidence`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyproj

from geo import config


class TerritoryError(ValueError):
    """A territory folder that cannot be used; the message is Italian and names the file."""


REQUIRED_FILES = ("comuni", "popolazione")

#: What belongs to one pact and one region, with neutral defaults (``territory.json`` key ``pact``):
#: the pact's name and date, the article of the pact behind each feature (the Massa-Carrara
#: numbering is in its folder; another pact numbers its commitments differently, or has none),
#: the regional price list to quote for lighting costs, and extra data attributions.
DEFAULT_PACT: dict = {
    "name": "Patto per la sicurezza urbana",
    "date": None,
    "articles": {},
    "price_list": "il prezzario regionale dei lavori pubblici (capitolo impianti di illuminazione pubblica)",
    "attributions": [],
}
#: Keys of ``pact.articles``: the pact's article for each feature of the dashboard.
PACT_ARTICLE_KEYS = {
    "dati_anonimi": "elaborazioni statistiche anonime sui delitti",
    "zone_pilota": "aree urbane per la fase pilota",
    "illuminazione": "programmi di illuminazione delle periferie",
    "degrado": "decoro, luoghi degradati, beni confiscati",
    "scuole": "Scuole sicure",
    "senza_dimora": "censimento dei servizi per persone senza dimora",
    "monitoraggio": "cabina di regia e monitoraggio",
}
DEFAULT_PATHS = {
    "comuni": "comuni.geojson",
    "popolazione": "popolazione.csv",
    "localita": "localita.geojson",
    "scuole": "scuole.geojson",
    "beni_confiscati": "beni_confiscati.geojson",
    "delitti_ufficiali": "delitti_ufficiali.csv",
    "popolazione_griglia": "popolazione_griglia.csv",
    "costi_telecamere": "costi_telecamere.csv",
}


@dataclass
class Territory:
    """A province: its manifest and lazily loaded real layers."""

    slug: str
    folder: Path
    manifest: dict = field(repr=False)

    @property
    def code(self) -> str:
        return str(self.manifest["code"]).zfill(3)

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def nuts3(self) -> str | None:
        return self.manifest.get("nuts3")

    @property
    def capoluogo(self) -> str | None:
        return self.manifest.get("capoluogo")

    @property
    def sigla(self) -> str | None:
        return self.manifest.get("sigla")

    @property
    def pact(self) -> dict:
        """The pact's name, date, articles, price list and attributions (:data:`DEFAULT_PACT` for
        what the manifest leaves out)."""
        out = dict(DEFAULT_PACT)
        out.update({k: v for k, v in (self.manifest.get("pact") or {}).items() if v is not None})
        return out

    def pact_ref(self, key: str) -> str:
        """How to cite the pact for a feature: 'art. 5 del Patto' when the territory's pact numbers
        it (``pact.articles``), 'Patto' otherwise."""
        article = self.pact.get("articles", {}).get(key)
        return f"art. {article} del Patto" if article else "Patto"

    @cached_property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(min_lon, min_lat, max_lon, max_lat)`` of the comuni (WGS84)."""
        b = self.comuni.total_bounds
        return float(b[0]), float(b[1]), float(b[2]), float(b[3])

    def file_info(self, key: str) -> dict:
        info = dict(self.manifest.get("files", {}).get(key, {}))
        info.setdefault("path", DEFAULT_PATHS.get(key, key))
        return info

    def path(self, key: str) -> Path | None:
        p = self.folder / self.file_info(key)["path"]
        return p if p.exists() else None

    def _require(self, key: str) -> Path:
        p = self.path(key)
        if p is None:
            raise TerritoryError(
                f"Territorio '{self.slug}': manca il file obbligatorio '{self.file_info(key)['path']}'."
            )
        return p

    @cached_property
    def comuni(self) -> gpd.GeoDataFrame:
        """Comuni polygons in WGS84 with ``pro_com_t``, ``nome`` and ``area_km2``."""
        p = self._require("comuni")
        gdf = gpd.read_file(p)
        gdf.columns = [c.lower() if c != "geometry" else c for c in gdf.columns]
        rename = {"com_istat_code": "pro_com_t", "name": "nome", "comune": "nome", "denominazione": "nome"}
        gdf = gdf.rename(columns={k: v for k, v in rename.items() if k in gdf.columns and v not in gdf.columns})
        missing = [c for c in ("pro_com_t", "nome") if c not in gdf.columns]
        if missing:
            raise TerritoryError(f"{p.name}: mancano le colonne {', '.join(missing)} (codice ISTAT e nome).")
        if gdf.crs is None:
            gdf = gdf.set_crs(4326)
        gdf = gdf.to_crs(4326)
        gdf["pro_com_t"] = gdf["pro_com_t"].astype(str).str.strip().str.zfill(6)
        bad = gdf[~gdf["pro_com_t"].str.fullmatch(r"\d{6}")]
        if len(bad):
            raise TerritoryError(f"{p.name}: codice ISTAT non valido '{bad['pro_com_t'].iloc[0]}' (6 cifre).")
        if gdf["pro_com_t"].duplicated().any():
            raise TerritoryError(f"{p.name}: codici ISTAT ripetuti.")
        gdf["geometry"] = gdf.geometry.make_valid()
        gdf["area_km2"] = gdf.to_crs(self.metric_crs).area / 1e6
        return gdf[["pro_com_t", "nome", "area_km2", "geometry"]].sort_values("pro_com_t").reset_index(drop=True)

    @cached_property
    def outline(self):
        """The territory's outline (union of the comuni), WGS84 shapely geometry."""
        return self.comuni.union_all()

    @cached_property
    def metric_crs(self) -> str:
        """Projected CRS for metric work: the manifest's, or the UTM zone of the centroid."""
        if self.manifest.get("metric_crs"):
            return str(self.manifest["metric_crs"])
        p = self._require("comuni")
        bounds = gpd.read_file(p).to_crs(4326).total_bounds
        lon = (bounds[0] + bounds[2]) / 2
        zone = int((lon + 180) // 6) + 1
        return f"EPSG:{32600 + zone}"

    @cached_property
    def population(self) -> pd.DataFrame:
        """Residents per comune: ``pro_com_t``, ``nome``, ``residenti``, ``anno``."""
        p = self._require("popolazione")
        df = pd.read_csv(p, dtype={"pro_com_t": str})
        missing = [c for c in ("pro_com_t", "residenti") if c not in df.columns]
        if missing:
            raise TerritoryError(f"{p.name}: mancano le colonne {', '.join(missing)}.")
        df["pro_com_t"] = df["pro_com_t"].str.zfill(6)
        if "anno" not in df.columns:
            df["anno"] = self.file_info("popolazione").get("year")
        unknown = set(df["pro_com_t"]) - set(self.comuni["pro_com_t"])
        absent = set(self.comuni["pro_com_t"]) - set(df["pro_com_t"])
        if unknown or absent:
            raise TerritoryError(
                f"{p.name}: i comuni della popolazione non corrispondono ai confini "
                f"(in più: {sorted(unknown) or '-'}; mancanti: {sorted(absent) or '-'})."
            )
        names = self.comuni.set_index("pro_com_t")["nome"]
        df["nome"] = df["pro_com_t"].map(names)
        return df[["pro_com_t", "nome", "residenti", "anno"]].sort_values("pro_com_t").reset_index(drop=True)

    def _points(self, key: str) -> gpd.GeoDataFrame | None:
        p = self.path(key)
        if p is None:
            return None
        gdf = gpd.read_file(p)
        if gdf.crs is None:
            gdf = gdf.set_crs(4326)
        return gdf.to_crs(4326)

    @cached_property
    def localities(self) -> gpd.GeoDataFrame:
        """Localities and attractors (may be empty): ``nome``, ``tipo``, ``abitanti``, ``pro_com_t``."""
        gdf = self._points("localita")
        if gdf is None:
            return gpd.GeoDataFrame(
                {"nome": [], "tipo": [], "abitanti": [], "pro_com_t": []}, geometry=[], crs=4326
            )
        for col in ("tipo", "abitanti"):
            if col not in gdf.columns:
                gdf[col] = None
        return self._attach_comune(gdf)

    @cached_property
    def schools(self) -> gpd.GeoDataFrame | None:
        gdf = self._points("scuole")
        return None if gdf is None else self._attach_comune(gdf)

    @cached_property
    def confiscated(self) -> gpd.GeoDataFrame | None:
        gdf = self._points("beni_confiscati")
        return None if gdf is None else self._attach_comune(gdf)

    @cached_property
    def official_crime(self) -> pd.DataFrame:
        """Official yearly totals: ``anno``, ``categoria`` ('totale' or a category), ``delitti``, ``fonte``."""
        p = self.path("delitti_ufficiali")
        if p is None:
            return pd.DataFrame(columns=["anno", "categoria", "delitti", "fonte"])
        return pd.read_csv(p)

    def _attach_comune(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Recompute ``pro_com_t`` by point in polygon; points outside every comune are dropped."""
        joined = gpd.sjoin(
            gdf.drop(columns=[c for c in ("pro_com_t",) if c in gdf.columns]),
            self.comuni[["pro_com_t", "geometry"]],
            how="inner",
            predicate="within",
        )
        return joined.drop(columns="index_right").reset_index(drop=True)

    def sources(self) -> pd.DataFrame:
        """One row per file of the folder: key, path, source, licence, year."""
        rows = []
        for key in DEFAULT_PATHS:
            info = self.file_info(key)
            if self.path(key) is not None:
                rows.append(
                    {
                        "file": info["path"],
                        "livello": key,
                        "fonte": info.get("source", ""),
                        "licenza": info.get("licence", ""),
                        "anno": info.get("year"),
                    }
                )
        return pd.DataFrame(rows)


def available_territories(root: Path | None = None) -> list[str]:
    """Slugs of the territory folders under ``data/territories``."""
    root = root or config.TERRITORIES_DIR
    return sorted(p.name for p in root.iterdir() if (p / "territory.json").exists()) if root.exists() else []


def load_territory(slug_or_path: str | Path | None = None) -> Territory:
    """Load a territory by slug (folder name under ``data/territories``) or by folder path."""
    target = Path(slug_or_path) if slug_or_path else config.TERRITORIES_DIR / config.DEFAULT_TERRITORY
    if not target.is_absolute() and not target.exists():
        target = config.TERRITORIES_DIR / str(slug_or_path)
    manifest_path = target / "territory.json"
    if not manifest_path.exists():
        known = ", ".join(available_territories()) or "nessuno"
        raise TerritoryError(f"Territorio '{slug_or_path}' non trovato (manca {manifest_path}). Disponibili: {known}.")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TerritoryError(f"{manifest_path.name}: JSON non valido alla riga {exc.lineno} ({exc.msg}).") from exc
    for key in ("code", "name"):
        if key not in manifest:
            raise TerritoryError(f"{manifest_path.name}: manca la chiave '{key}'.")
    if manifest.get("metric_crs"):
        try:
            pyproj.CRS.from_user_input(manifest["metric_crs"])
        except pyproj.exceptions.CRSError as exc:
            raise TerritoryError(f"{manifest_path.name}: metric_crs non valido ({manifest['metric_crs']}).") from exc
    return Territory(slug=target.name, folder=target, manifest=manifest)


def territory_of_store(store) -> Territory:
    """The territory a database was built from: its folder (meta ``territory_folder``) when that
    still exists, else its slug (meta ``territory``). Pages use this, so that a territory given
    by path works everywhere.

    ``store`` is a :class:`geo.data.storage.Store` (anything with ``get_meta``).
    """
    folder = store.get_meta("territory_folder")
    if folder and (Path(folder) / "territory.json").exists():
        return load_territory(Path(folder))
    return load_territory(store.get_meta("territory"))
