"""Browser journey for the Dossier CPOSP (issue 17): the Prefettura prepares the dossier, sees its
preview and downloads the PDF, stamped with the audit chain's head; fails on any JavaScript error,
Streamlit exception or traceback (``tests/e2e/conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import download, go_to, login

pytestmark = pytest.mark.e2e


def test_the_prefettura_downloads_the_dossier_as_pdf(page, app_url, shot):
    login(page, app_url, "prefettura")
    go_to(page, "Dossier CPOSP", "dossier")
    page.get_by_role("heading", name="Dossier per il CPOSP").wait_for(timeout=60_000)
    sections = page.locator("[data-testid='stMetric']", has_text="Sezioni")
    sections.wait_for(timeout=180_000)
    assert sections.locator("[data-testid='stMetricValue']").inner_text().strip() == "8"
    preview = page.frame_locator("iframe[title='st.iframe']").first if page.locator(
        "iframe[title='st.iframe']").count() else page.frame_locator("iframe").last
    expect(preview.get_by_text("Dossier per il Comitato provinciale")).to_be_visible(timeout=60_000)
    shot(page, "journey_dossier")
    saved = download(page, page.get_by_role("button", name="Scarica PDF"), timeout=120_000)
    assert saved.suggested_filename.endswith(".pdf")
    assert Path(saved.path()).read_bytes().startswith(b"%PDF")
