"""The layers of ``geo/`` (docs/ARCHITECTURE.md): a package imports only from lower layers.

Parsed from the source, so lazy imports inside functions count too.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

GEO = Path(__file__).resolve().parents[2] / "geo"
ROOT = GEO.parent
PAGES = ROOT / "pages"

#: Layer of each package of ``geo`` (``config`` is a module). Same layer: no imports between them.
LAYERS: dict[str, int] = {
    "config": 0,
    "data": 1,
    "access": 2,
    "ingest": 3,
    "overview": 3,
    "maps": 4,
    "zones": 5,
    "lighting": 5,
    "services": 5,
    "reports": 5,
    "interventions": 6,
    "cameras": 6,
    "demo": 7,
    "dossier": 7,
    "cli": 8,
}


def _imports(path: Path) -> set[str]:
    """Every ``geo`` module imported by a file (module-level or inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "geo":
                found.update(f"geo.{alias.name}" for alias in node.names)
            elif node.module.startswith("geo."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("geo."))
    return found


def _package(path: Path) -> str:
    rel = path.relative_to(GEO).with_suffix("").parts
    return rel[0]


def _modules() -> list[Path]:
    return sorted(p for p in GEO.rglob("*.py") if p.name != "__main__.py")


def test_every_package_has_a_layer():
    packages = {_package(p) for p in _modules()} - {"__init__"}
    assert packages <= set(LAYERS), f"packages without a layer in docs/ARCHITECTURE.md: {packages - set(LAYERS)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(GEO)))
def test_imports_go_down_the_layers(path: Path):
    own = _package(path)
    if own == "__init__":
        return
    for module in _imports(path):
        target = module.split(".")[1]
        if target == own:
            continue
        assert LAYERS[target] < LAYERS[own], f"{path.relative_to(GEO)} ({own}) imports {module} ({target})"


def test_no_streamlit_in_the_library():
    for path in GEO.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "streamlit" for n in names), path


def test_no_import_cycle_between_modules():
    graph: dict[str, set[str]] = defaultdict(set)
    for path in _modules():
        name = ".".join(("geo", *path.relative_to(GEO).with_suffix("").parts)).removesuffix(".__init__")
        graph[name] = {m for m in _imports(path) if m != name}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            assert state.get(nxt) != 1, "import cycle: " + " -> ".join([*trail, node, nxt])
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_pages_write_no_sql():
    for path in PAGES.glob("*.py"):
        imported = _imports(path) | {
            a.name for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.Import) for a in n.names
        }
        assert "duckdb" not in imported, f"{path.name} talks to the database directly"


#: A page is a view: widgets, and what geo returns placed on screen (issue 16).
MAX_PAGE_LINES = 250


def test_pages_are_views_of_at_most_250_lines():
    files = [*PAGES.glob("*.py"), ROOT / "dashboard.py"]
    long = {p.name: n for p in files if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_PAGE_LINES}
    assert not long, f"pages longer than {MAX_PAGE_LINES} lines (move the logic into geo/): {long}"


def test_pages_build_no_map_of_their_own():
    """Maps come from geo.maps (one base map fitted to the territory), Leaflet's address from one
    constant: a page neither creates a folium.Map nor repeats the static URL."""
    library = [p for p in GEO.rglob("*.py") if p.parent.name != "maps"]
    for path in [*PAGES.glob("*.py"), ROOT / "dashboard.py", *library]:
        text = path.read_text(encoding="utf-8")
        assert "folium.Map(" not in text, f"{path.name} creates a folium.Map instead of geo.maps.layers.base_map"
        assert "vendor/leaflet" not in text, f"{path.name} repeats Leaflet's URL (geo.maps.layers.LEAFLET_APP_URL)"
