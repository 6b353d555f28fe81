"""Benchmark of the integrated map: payload size and browser timings. Prints figures, asserts nothing.

1. Payload of the default view (whole province, automatic resolution, last 12 months, role
   *osservatore*, default point layers): the HTML of :func:`geo.maps.layers.build_map` and the script
   streamlit-folium sends to the browser, against a naive ``folium.GeoJson`` of the same hexagons
   with every figure as a property, a Python ``style_function`` and a ``GeoJsonTooltip``.
2. In headless Chromium (Debian's ``/usr/bin/chromium``, same flags as the browser tests) against
   ``streamlit run dashboard.py``: time from the login (the navigation to the default page) to the
   map drawn, and from a filter change
   (the time band in the sidebar) to the map drawn again; median of 5 runs after a warm-up.

Usage: ``python scripts/bench_map.py [--db FILE] [--runs 5] [--no-browser]``. Without ``--db`` the
demo database is built in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import folium  # noqa: E402
import streamlit_folium  # noqa: E402

from geo import hexgrid, maps, metrics  # noqa: E402
from geo.data.filters import Filters  # noqa: E402
from geo.data.storage import close_all, open_store  # noqa: E402
from geo.overview.trends import add_months  # noqa: E402

ROLE = "osservatore"
DEFAULT_LAYERS = ("schools", "services", "confiscated")
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
MAP_DRAWN_JS = "() => !window.__bench_old && !!window.map && Object.keys(window.map._layers).length > 100"


def default_filters(store) -> Filters:
    """What the dashboard shows on opening (see ``pages.common.sidebar_filters``)."""
    first, last = store.period()
    start = max(first, add_months(last, -11))
    area = float(store.comuni()["area_km2"].sum())
    return Filters(res=hexgrid.suggest_resolution(area), start=start, end=last)


def naive_map(frame) -> folium.Map:
    """The same hexagons the way folium's documentation draws a choropleth."""
    gdf = hexgrid.cells_frame(frame["cell"]).merge(frame.drop(columns="h3"), on="cell")
    gdf["cell"] = gdf["cell"].astype(str)
    classes = maps.map_classes(frame, metric="incidents", role=ROLE)
    gdf["classe"] = classes.classes.to_numpy()
    colors = dict(enumerate(classes.colors))
    m = folium.Map(location=[44.1, 10.1], zoom_start=10)
    fields = [c for c in gdf.columns if c != "geometry"]
    folium.GeoJson(
        gdf,
        style_function=lambda f: {"fillColor": colors.get(f["properties"]["classe"], "#cccccc"), "weight": 0.4},
        tooltip=folium.GeoJsonTooltip(fields=fields),
    ).add_to(m)
    return m


def kb(n: int) -> str:
    return f"{n / 1024:,.0f} KB"


def payload(db: Path) -> None:
    store = open_store(db)
    filters = default_filters(store)
    frame = metrics.hex_metrics(store, filters, include_private_services=False)
    shown = frame[maps.drawable(frame)].reset_index(drop=True)
    comuni = store.comuni_geometries()
    points = {k: store.points(maps.POINT_LAYERS[k].table) for k in DEFAULT_LAYERS}

    started = time.perf_counter()
    ours_map = maps.build_map(frame, role=ROLE, comuni=comuni, points=points)
    ours = len(ours_map.get_root().render().encode())
    build_s = time.perf_counter() - started
    script = len(streamlit_folium.generate_leaflet_string(
        maps.build_map(frame, role=ROLE, comuni=comuni, points=points)).encode())
    hex_only = len(maps.build_map(frame, role=ROLE, tiles="none").get_root().render().encode())
    naive = len(naive_map(shown).get_root().render().encode())
    naive_all = len(naive_map(frame).get_root().render().encode())

    print(f"Default view: resolution {filters.res}, {filters.start:%m/%Y}-{filters.end:%m/%Y}, role {ROLE}")
    print(f"  hexagons in the territory: {len(frame):,}; drawn (not empty): {len(shown):,}")
    print(f"  naive folium.GeoJson, drawn hexagons, all properties: {kb(naive)}")
    print(f"  naive folium.GeoJson, every hexagon, all properties:  {kb(naive_all)}")
    print(f"  ours, hexagons only:                                  {kb(hex_only)} "
          f"(ratio {hex_only / naive:.2f} of naive)")
    print(f"  ours, full default map (boundaries, {', '.join(DEFAULT_LAYERS)}, legend): {kb(ours)} "
          f"(ratio {ours / naive:.2f}; build + render {build_s:.2f} s)")
    print(f"  script sent by streamlit-folium for the full map:     {kb(script)}")
    for key in ("reports",):
        extra = maps.build_map(frame, role=ROLE, comuni=comuni,
                               points={**points, key: store.points(maps.POINT_LAYERS[key].table)})
        print(f"  full map with the optional layer '{key}':             {kb(len(extra.get_root().render().encode()))}")
    close_all()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _map_frame_ready(page) -> bool:
    from playwright.sync_api import Error as PlaywrightError

    for frame in page.frames:
        if "st_folium" in frame.url:
            try:
                if frame.evaluate(MAP_DRAWN_JS):
                    return True
            except PlaywrightError:  # the frame may be replaced while we look at it
                continue
    return False


def _wait_map(page, timeout: float = 60.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if _map_frame_ready(page):
            return time.perf_counter()
        page.wait_for_timeout(20)  # lets Playwright process the page's events (new frames)
    raise TimeoutError("la mappa non è comparsa")


def browser(db: Path, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, DEMO_PASSWORD

    port = _free_port()
    env = {**os.environ, "LANTERNA_DB": str(db), "PYTHONUNBUFFERED": "1"}
    log = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False)  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            loads = []
            for i in range(runs + 1):
                context = b.new_context(viewport={"width": 1400, "height": 900}, locale="it-IT")
                page = context.new_page()
                # the dashboard opens on the login form: time from "Accedi" to the map drawn,
                # i.e. the navigation to the default page of a logged-in user
                page.goto(url)
                page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=90_000)
                page.get_by_label("Nome utente").fill("osservatore")
                page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
                started = time.perf_counter()
                page.get_by_role("button", name="Accedi").click()
                seconds = _wait_map(page) - started
                if i == 0:
                    print(f"  first load (server caches cold): {seconds:.2f} s")
                else:
                    loads.append(seconds)
                if i < runs:
                    context.close()
            print(f"  login -> default page with the map drawn, median of {runs}: {statistics.median(loads):.2f} s "
                  f"(min {min(loads):.2f}, max {max(loads):.2f})")

            redraws = []
            bands = ["Notte (20-6)", "Giorno (6-20)", "Giorno e notte"]
            sidebar = page.get_by_test_id("stSidebar")
            idle = "[data-testid='stApp'][data-test-script-state='notRunning']"
            for i in range(runs):
                page.wait_for_selector(idle)
                page.wait_for_timeout(500)  # the map's first message back to Streamlit settles
                for frame in page.frames:
                    if "st_folium" in frame.url:
                        frame.evaluate("() => { window.__bench_old = true; }")
                started = time.perf_counter()
                sidebar.get_by_text(bands[i % len(bands)], exact=True).click()
                redraws.append(_wait_map(page) - started)
            print(f"  filter change (time band) -> map redrawn, median of {runs}: {statistics.median(redraws):.2f} s "
                  f"(runs: {', '.join(f'{r:.2f}' for r in redraws)}; the first {len(bands)} compute, then cached)")
            b.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        tail = Path(log.name).read_text(encoding="utf-8").strip().splitlines()[-15:]
        if any("Error" in line or "Traceback" in line for line in tail):
            print("  streamlit log:\n    " + "\n    ".join(tail))
        Path(log.name).unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="database to use (default: demo built in a temporary folder)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true", help="payload only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            from geo.demo.build import build_demo

            db = Path(tmp) / "bench.duckdb"
            started = time.perf_counter()
            build_demo(path=db)
            close_all()
            print(f"Demo database built in {time.perf_counter() - started:.1f} s")
        payload(db)
        if not args.no_browser:
            print("Browser (headless Chromium):")
            browser(db, args.runs)


if __name__ == "__main__":
    main()
