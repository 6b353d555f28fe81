"""The tables of the *Dati e fonti* page: loaded layers, a layer's fields, the import history
(no Streamlit)."""

from __future__ import annotations

import pandas as pd

from geo.access import privacy
from geo.data.periods import month_label
from geo.data.schemas import LAYERS, Layer


def catalogue_view(catalogue: pd.DataFrame) -> pd.DataFrame:
    """The layer catalogue (:func:`geo.data.sources.layer_catalogue`) with Italian headers and periods."""
    def period(row) -> str:
        if row["dal"] is None or pd.isna(row["dal"]):
            return "–"
        return f"{month_label(row['dal'])} – {month_label(row['al'])}"

    return pd.DataFrame({
        "Livello": catalogue["livello"],
        "Righe": catalogue["righe"],
        "Eventi": [privacy.format_int(e) if e is not None and not pd.isna(e) else "" for e in catalogue["eventi"]],
        "Periodo": catalogue.apply(period, axis=1),
        "Generati": catalogue["generati_pct"],
        "Importati": catalogue["importati"],
        "Fonte": catalogue["fonte"],
        "Licenza": catalogue["licenza"],
        "Anno": catalogue["anno"],
    })


def fields_table(layer: Layer) -> pd.DataFrame:
    """The fields of a layer: name, description, required, accepted headers, allowed values."""
    return pd.DataFrame({
        "Campo": [f.name for f in layer.fields],
        "Descrizione": [f.label for f in layer.fields],
        "Obbligatorio": ["sì" if f.required else "" for f in layer.fields],
        "Intestazioni accettate": [", ".join(f.aliases) for f in layer.fields],
        "Valori ammessi": [", ".join(f.choices) if f.choices else "" for f in layer.fields],
    })


def imports_history(imports: pd.DataFrame) -> pd.DataFrame:
    """The registered imports (the ``imports`` table), newest first, with Italian headers."""
    history = imports.sort_values("import_id", ascending=False)
    return pd.DataFrame({
        "N.": history["import_id"],
        "Data": history["imported_at"],
        "Livello": history["layer"].map(lambda k: LAYERS[k].label if k in LAYERS else k),
        "File": history["file_name"],
        "Righe scritte": history["rows_written"],
        "Righe scartate": history["rows_rejected"],
        "Modalità": history["mode"],
        "Utente": history["user_name"],
    })
