"""Check a territory folder (hand-made or generated) and say in Italian what is missing or wrong.

:func:`check_folder` is what ``python -m geo territorio verifica CARTELLA`` prints. It never
stops at the first problem: every file is read and every finding is listed, with its level
(``errore``: the demo or the dashboard cannot use the folder; ``avviso``: it works, with less).
The rules are those of the README, "Territory folder format".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyproj

from geo import config
from geo.data.population import KIND_WEIGHTS
from geo.data.schemas import INCIDENT_CATEGORIES, SCHOOL_LEVELS
from geo.data.territory import DEFAULT_PATHS, PACT_ARTICLE_KEYS, TerritoryError, load_territory

#: Locality kinds that hold residents (:data:`geo.data.population.KIND_WEIGHTS`) and attractors
#: (the demo's hot spots and attractor kernels; equal to ``geo.demo.synth._places.ATTRACTOR_KINDS``).
POPULATED_KINDS: tuple[str, ...] = tuple(KIND_WEIGHTS)
ATTRACTOR_KINDS: tuple[str, ...] = ("stazione", "piazza", "centro_commerciale", "stadio", "albergo", "parco")
LOCALITY_KINDS: tuple[str, ...] = POPULATED_KINDS + ATTRACTOR_KINDS

MANIFEST_KEYS = ("code", "name", "sigla", "nuts3", "region", "capoluogo")


@dataclass(frozen=True)
class Finding:
    """One problem of a folder: ``level`` (``errore`` or ``avviso``), the ``file`` and an Italian message."""

    level: str
    file: str
    message: str


def _err(file: str, message: str) -> Finding:
    return Finding("errore", file, message)


def _warn(file: str, message: str) -> Finding:
    return Finding("avviso", file, message)


def _resolve(folder: str | Path) -> Path:
    p = Path(folder)
    if not (p / "territory.json").exists() and (config.TERRITORIES_DIR / str(folder) / "territory.json").exists():
        return config.TERRITORIES_DIR / str(folder)
    return p


def check_folder(folder: str | Path) -> list[Finding]:
    """Every problem of a territory folder, errors first; an empty list when it is complete."""
    root = _resolve(folder)
    out: list[Finding] = []
    if not root.is_dir():
        return [_err(str(root), "la cartella non esiste.")]
    manifest_path = root / "territory.json"
    if not manifest_path.exists():
        return [_err("territory.json", "manca: è il file che descrive il territorio (codice, nome, file).")]
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        return [_err("territory.json", f"JSON non valido alla riga {exc.lineno} ({exc.msg}).")]
    out += _check_manifest(manifest, root)
    try:
        territory = load_territory(root)
    except TerritoryError as exc:
        return _sorted([*out, _err("territory.json", str(exc))])

    try:
        comuni = territory.comuni
    except (TerritoryError, OSError, ValueError) as exc:
        return _sorted([*out, _err(territory.file_info("comuni")["path"], str(exc))])
    codes = set(comuni["pro_com_t"])
    try:
        pop = territory.population
        if (pd.to_numeric(pop["residenti"], errors="coerce").fillna(-1) < 0).any():
            out.append(_err("popolazione.csv", "residenti mancanti o negativi."))
        elif (pop["residenti"] == 0).any():
            out.append(_warn("popolazione.csv", "comuni con zero residenti: "
                             + ", ".join(pop.loc[pop["residenti"] == 0, "nome"].astype(str).head(5))))
    except (TerritoryError, OSError, ValueError) as exc:
        out.append(_err(territory.file_info("popolazione")["path"], str(exc)))
    cap = manifest.get("capoluogo")
    if cap and str(cap) not in codes:
        out.append(_err("territory.json", f"capoluogo {cap} non è tra i comuni di comuni.geojson."))

    out += _check_localities(territory, codes, comuni)
    out += _check_schools(territory)
    out += _check_confiscated(territory)
    out += _check_crime(territory)
    out += _check_grid(territory)
    return _sorted(out)


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: f.level != "errore")


def _check_manifest(manifest: dict, root: Path) -> list[Finding]:
    out = []
    f = "territory.json"
    for key in ("code", "name"):
        if key not in manifest:
            out.append(_err(f, f"manca la chiave obbligatoria '{key}'."))
    if "code" in manifest and not re.fullmatch(r"\d{1,3}", str(manifest["code"])):
        out.append(_err(f, "'code' deve essere il codice ISTAT della provincia (fino a 3 cifre), "
                           f"non '{manifest['code']}'."))
    for key in MANIFEST_KEYS[2:]:
        if not manifest.get(key):
            out.append(_warn(f, {
                "sigla": "manca 'sigla' (es. MS): i codici delle scuole generate useranno XX.",
                "nuts3": "manca 'nuts3' (il REF_AREA della tabella ISTAT delle province, es. ITE11): nessun confronto "
                         "con le altre province nella pagina Andamento.",
                "region": "manca 'region'.",
                "capoluogo": "manca 'capoluogo' (PRO_COM_T): sarà usato il comune più popoloso.",
            }[key]))
    if manifest.get("sigla") and not re.fullmatch(r"[A-Z]{2}", str(manifest["sigla"])):
        out.append(_err(f, f"'sigla' deve essere di due lettere maiuscole, non '{manifest['sigla']}'."))
    if manifest.get("nuts3"):
        ref = pd.read_csv(config.NATIONAL_DIR / "istat_delitti_province_2014_2024.csv", usecols=["REF_AREA"])
        if manifest["nuts3"] not in set(ref["REF_AREA"]):
            out.append(_warn(f, f"'nuts3' {manifest['nuts3']} non è nella tabella ISTAT delle province "
                                "(data/national/istat_delitti_province_2014_2024.csv, colonna REF_AREA)."))
    if manifest.get("metric_crs"):
        try:
            crs = pyproj.CRS.from_user_input(manifest["metric_crs"])
            if not crs.is_projected:
                out.append(_err(f, f"metric_crs {manifest['metric_crs']} non è proiettato (servono metri)."))
        except pyproj.exceptions.CRSError:
            out.append(_err(f, f"metric_crs non valido ({manifest['metric_crs']})."))
    files = manifest.get("files", {})
    if not isinstance(files, dict):
        return [*out, _err(f, "'files' deve essere un oggetto: per ogni file path, source, licence, year.")]
    for key, info in files.items():
        if key not in DEFAULT_PATHS:
            out.append(_warn(f, f"file '{key}' sconosciuto (ammessi: {', '.join(DEFAULT_PATHS)})."))
            continue
        path = (info or {}).get("path", DEFAULT_PATHS[key])
        if not (root / path).exists():
            out.append(_err(f, f"'{key}' indica il file {path}, che non esiste."))
        for attr in ("source", "licence"):
            if not (info or {}).get(attr):
                out.append(_warn(f, f"'{key}': manca '{attr}' (fonte e licenza vanno sempre indicate)."))
    for key, default in DEFAULT_PATHS.items():
        if key not in files and (root / default).exists():
            out.append(_warn(f, f"{default} non ha fonte e licenza in 'files'."))
    pact = manifest.get("pact")
    if pact is not None:
        if not isinstance(pact, dict):
            out.append(_err(f, "'pact' deve essere un oggetto (name, date, articles, price_list, attributions)."))
        else:
            unknown = set(pact.get("articles") or {}) - set(PACT_ARTICLE_KEYS)
            if unknown:
                out.append(_warn(f, f"pact.articles: chiavi sconosciute {sorted(unknown)} "
                                    f"(ammesse: {', '.join(PACT_ARTICLE_KEYS)})."))
            for a in pact.get("attributions") or []:
                if not isinstance(a, dict) or not a.get("text") or not a.get("licence"):
                    out.append(_err(f, "pact.attributions: ogni voce vuole 'text' e 'licence'."))
    if not (root / "SOURCE.md").exists():
        out.append(_warn("SOURCE.md", "manca: descrivere fonti, versioni e licenze dei file."))
    return out


def _check_localities(territory, codes: set[str], comuni: gpd.GeoDataFrame) -> list[Finding]:
    f = territory.file_info("localita")["path"]
    if territory.path("localita") is None:
        return [_warn(f, "manca: senza località i residenti sono distribuiti su tutto il territorio comunale "
                         "e la cella più densa può cadere lontano dai centri abitati.")]
    out = []
    raw = gpd.read_file(territory.path("localita"))
    for col in ("nome", "tipo"):
        if col not in raw.columns:
            out.append(_err(f, f"manca la colonna '{col}'."))
    if "tipo" in raw.columns:
        bad = sorted(set(raw["tipo"].dropna().astype(str)) - set(LOCALITY_KINDS))
        if bad:
            out.append(_warn(f, f"valori di 'tipo' ignorati: {', '.join(bad[:8])} "
                                f"(ammessi: {', '.join(LOCALITY_KINDS)})."))
    loc = territory.localities
    if len(raw) > len(loc):
        out.append(_warn(f, f"{len(raw) - len(loc)} località fuori dai comuni del territorio (ignorate)."))
    populated = loc[loc["tipo"].isin(POPULATED_KINDS)]
    without = sorted(codes - set(populated["pro_com_t"]))
    if without:
        names = comuni.set_index("pro_com_t").loc[without, "nome"].astype(str)
        shown = ", ".join(names.head(8)) + (f" e altri {len(names) - 8}" if len(names) > 8 else "")
        out.append(_warn(f, f"{len(without)} comuni senza località abitate ({shown}): i loro residenti sono "
                            "distribuiti su tutto il comune."))
    return out


def _check_schools(territory) -> list[Finding]:
    f = territory.file_info("scuole")["path"]
    if territory.path("scuole") is None:
        return [_warn(f, "manca: la demo genererà tutte le scuole.")]
    raw = gpd.read_file(territory.path("scuole"))
    out = [_err(f, f"manca la colonna '{c}'.") for c in ("codice", "nome", "grado") if c not in raw.columns]
    if "grado" in raw.columns:
        bad = sorted(set(raw["grado"].dropna().astype(str)) - set(SCHOOL_LEVELS))
        if bad:
            out.append(_err(f, f"valori di 'grado' non ammessi: {', '.join(bad)} "
                               f"(ammessi: {', '.join(SCHOOL_LEVELS)})."))
    if "codice" in raw.columns and raw["codice"].duplicated().any():
        out.append(_err(f, "codici meccanografici ripetuti."))
    outside = len(raw) - len(territory.schools)
    if outside:
        out.append(_warn(f, f"{outside} scuole fuori dai comuni del territorio (ignorate)."))
    return out


def _check_confiscated(territory) -> list[Finding]:
    if territory.path("beni_confiscati") is None:
        return []
    f = territory.file_info("beni_confiscati")["path"]
    raw = gpd.read_file(territory.path("beni_confiscati"))
    return [_err(f, f"manca la colonna '{c}'.") for c in ("id", "nome") if c not in raw.columns]


def _check_crime(territory) -> list[Finding]:
    f = territory.file_info("delitti_ufficiali")["path"]
    if territory.path("delitti_ufficiali") is None:
        return [_warn(f, "manca: la demo userà i totali delle tabelle nazionali se hanno la provincia, altrimenti "
                         "li stimerà dal tasso nazionale per residente.")]
    df = pd.read_csv(territory.path("delitti_ufficiali"))
    missing = [c for c in ("anno", "categoria", "delitti") if c not in df.columns]
    if missing:
        return [_err(f, f"mancano le colonne {', '.join(missing)}.")]
    out = []
    bad = sorted(set(df["categoria"].astype(str)) - {"totale", *INCIDENT_CATEGORIES})
    if bad:
        out.append(_err(f, f"categorie sconosciute: {', '.join(bad)} "
                           f"(ammesse: totale, {', '.join(INCIDENT_CATEGORIES)})."))
    n = pd.to_numeric(df["delitti"], errors="coerce")
    if n.isna().any() or (n < 0).any():
        out.append(_err(f, "'delitti' deve essere un numero intero non negativo."))
    if df.duplicated(["anno", "categoria"]).any():
        out.append(_err(f, "righe ripetute per lo stesso anno e categoria."))
    if "fonte" not in df.columns:
        out.append(_warn(f, "manca la colonna 'fonte'."))
    tot = df[df["categoria"] == "totale"].set_index("anno")["delitti"]
    cats = df[df["categoria"] != "totale"].groupby("anno")["delitti"].sum()
    over = [int(y) for y in cats.index if y in tot.index and cats[y] > tot[y]]
    if over:
        out.append(_warn(f, f"negli anni {over} le categorie superano il totale: la demo riproporziona al totale."))
    return out


def _check_grid(territory) -> list[Finding]:
    if territory.path("popolazione_griglia") is None:
        return []
    f = territory.file_info("popolazione_griglia")["path"]
    df = pd.read_csv(territory.path("popolazione_griglia"), nrows=5)
    if "residenti" not in df.columns or not ({"cell"} <= set(df.columns) or {"lat", "lon"} <= set(df.columns)):
        return [_err(f, "servono le colonne 'residenti' e 'cell' (H3 risoluzione 10) oppure 'lat' e 'lon'.")]
    return []
