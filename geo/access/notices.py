"""Italian notices and labels the pages show about the data, the viewer and the filters (no Streamlit)."""

from __future__ import annotations

from geo.access.privacy import ROLES, can_see_exact
from geo.data.hexgrid import cell_area_km2

#: Shown whenever generated data is on screen (``meta.demo == "true"``).
DEMO_NOTICE = (
    "**Dati dimostrativi.** Delitti, punti luce, segnalazioni, scuole primarie e secondarie e "
    "servizi per persone senza dimora sono **generati** (calibrati sui totali ufficiali ISTAT e "
    "Ministero dell'Interno); confini, popolazione, località, scuole dell'infanzia e beni "
    "confiscati sono reali. Vedere la pagina *Dati*."
)


def pact_label(articles: dict | None, key: str) -> str:
    """'Patto, art. 5' when the pact numbers the feature ``key`` (``pact.articles`` of
    territory.json, :data:`geo.data.territory.PACT_ARTICLE_KEYS`), 'Patto' otherwise."""
    article = (articles or {}).get(key)
    return f"Patto, art. {article}" if article else "Patto"


def role_caption(role: str | None, articles: dict | None) -> str:
    """The sidebar line saying who is looking and whether small incident counts are protected."""
    label = f"Profilo: **{ROLES.get(role, role)}**"
    if can_see_exact(role):
        return label
    article = pact_label(articles, "dati_anonimi").removeprefix("Patto, ")
    ref = f"{article} del Patto" if article != "Patto" else "Patto"
    return label + f" · conteggi di delitti protetti con il metodo della chiave di cella ({ref})."


def resolution_label(res: int | str, auto: int) -> str:
    """Option of the H3 resolution filter; ``"auto"`` names the suggested resolution ``auto``."""
    if res == "auto":
        return f"Automatica ({auto}, ≈ {cell_area_km2(auto):.2f} km²)"
    return f"{res} (≈ {cell_area_km2(int(res)):.3f} km² per esagono)"
