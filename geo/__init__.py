"""Lanterna's library: territories, layers, importers, H3 aggregates and analyses.

Nothing in this package imports Streamlit: everything the dashboard shows can be computed from a
notebook or the command line (``python -m geo``).
"""

__version__ = "0.1.0"
