"""Maps: folium/Leaflet layers, legends and classes.

Lean GeoJSON layers and the integrated map (:mod:`~geo.maps.layers`), legend classes with
mapclassify (:mod:`~geo.maps.classes`).
"""

__all__ = ["classes", "layers"]
