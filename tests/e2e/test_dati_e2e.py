"""Browser test of the *Dati e fonti* page: a bad CSV through the real file uploader.

The dashboard process holds the database open, so the row counts are read from copies of the
file (with its write-ahead log, where DuckDB keeps changes not yet checkpointed) taken before and
after the upload.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import download as save
from tests.e2e.conftest import login, snapshot_store, wait_app_idle

pytestmark = pytest.mark.e2e

BAD_CSV = (
    b"mese,categoria,fascia,lat,lon,numero\n"
    b"2024-03,furto in abitazione,notte,44.035,10.14,2\n"
    b"2024-03,rapina,giorno,,,1\n"
    b"2024-03,astronave,notte,44.036,10.141,1\n"
)


def _counts(db: Path, workdir: Path) -> dict[str, int]:
    """Row counts of a copy of the live database."""
    store = snapshot_store(db, workdir)
    try:
        return {t: store.count(t) for t in ("incidents", "imports", "lighting", "reports")}
    finally:
        store.close()


def _open_dati(page, app_url: str) -> None:
    # Start from the router (a first request straight to /dati could be served by Streamlit's
    # legacy pages/ discovery instead of st.navigation) and log in as a role that imports.
    login(page, app_url, "prefettura")
    page.locator("[data-testid='stSidebarNav'] a", has_text="Dati e fonti").click()
    page.wait_for_url("**/dati")
    wait_app_idle(page, timeout=90_000)
    page.get_by_text("Livelli caricati").wait_for()


def test_bad_csv_is_refused_with_a_report_and_changes_nothing(page, app_url, demo_db, shot, tmp_path):
    _open_dati(page, app_url)
    assert page.locator("[data-testid='stException']").count() == 0
    expect(page.get_by_role("link", name="© OpenStreetMap contributors")).to_be_visible(timeout=30_000)
    before = _counts(demo_db, tmp_path / "before")

    uploader = page.locator("[data-testid='stFileUploader'] input[type='file']")
    uploader.set_input_files(files=[{"name": "delitti_errati.csv", "mimeType": "text/csv", "buffer": BAD_CSV}])
    page.get_by_text("delitti_errati.csv").first.wait_for()
    wait_app_idle(page)
    page.get_by_role("button", name="Importa", exact=True).click()
    page.get_by_text("Importazione non riuscita: delitti_errati.csv").wait_for(timeout=60_000)
    wait_app_idle(page)

    expect(page.get_by_text("2 righe su 3 hanno errori", exact=False).first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Nessun dato è stato modificato.", exact=False).first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Errori riga per riga")).to_be_visible(timeout=30_000)
    download = page.get_by_role("button", name="Scarica il rapporto degli errori (CSV)")
    download.scroll_into_view_if_needed()
    expect(download).to_be_visible(timeout=30_000)
    shot(page, "dati_import_rifiutato")

    report = Path(save(page, download).path()).read_text(encoding="utf-8-sig")
    lines = report.strip().splitlines()
    assert lines[0] == "riga;campo;valore;motivo"
    assert lines[1].startswith("3;")
    assert "coordinate mancanti" in lines[1]
    assert lines[2].startswith("4;")
    assert "astronave" in lines[2]

    assert _counts(demo_db, tmp_path / "after") == before
