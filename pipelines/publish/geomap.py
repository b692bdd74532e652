"""An offline map of the buurten: Voronoi cells around CBS label points (shapely/GEOS).

Buurt boundaries are not in the reference data, only one label point per buurt
(`cbs_buurten_2014.csv`, source: CBS, Kadaster). Each buurt gets the area nearer to its
point than to any other buurt of the gemeente, clipped to the convex hull of the points
widened by half the typical distance between neighbouring points. The page says so: it
is an honest sketch of where buurten lie and how they border, not their real shape.

Coordinates: longitude/latitude projected to metres around the gemeente's centre
(equirectangular, fine at gemeente scale), then scaled to an SVG box 1000 wide.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import MultiPoint, Point

WIDTH = 1000.0
ATTRIBUTION = "Bron: CBS, Kadaster"
METRES_PER_DEGREE = 111_320.0


def _project(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat0 = float(np.mean(lat))
    x = (lon - float(np.mean(lon))) * METRES_PER_DEGREE * math.cos(math.radians(lat0))
    y = (lat - lat0) * METRES_PER_DEGREE
    return x, y


def _cells(x: np.ndarray, y: np.ndarray) -> list:
    """One clipped Voronoi polygon per point, in the points' order."""
    pts = [Point(a, b) for a, b in zip(x, y)]
    if len(pts) == 1:
        return [pts[0].buffer(500.0)]
    multi = MultiPoint(pts)
    nearest, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=2)
    spacing = float(np.median(nearest[:, 1]))  # the typical distance to the nearest other label point
    clip = multi.convex_hull.buffer(max(spacing / 2, 150.0))
    cells = shapely.voronoi_polygons(multi, extend_to=clip)
    out = []
    for p in pts:
        poly = next((c for c in cells.geoms if c.covers(p)), None)
        out.append(poly.intersection(clip) if poly is not None else p.buffer(spacing / 3))
    return out


def _path(geom, scale: float, x0: float, y1: float) -> str:
    parts = []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        coords = [(round((a - x0) * scale, 1), round((y1 - b) * scale, 1)) for a, b in poly.exterior.coords[:-1]]
        parts.append("M" + "L".join(f"{a:g},{b:g}" for a, b in coords) + "Z")
    return "".join(parts)


def voronoi_paths(buurten: pd.DataFrame) -> dict:
    """gemeentecode -> {viewBox, height, paths: {buurtcode: SVG path}, attribution}."""
    out = {}
    for gm, g in buurten.sort_values("buurtcode").groupby("gemeentecode", sort=True):
        lon, lat = g.lon.to_numpy(dtype=float), g.lat.to_numpy(dtype=float)
        x, y = _project(lon, lat)
        # identical label points would share one cell: move repeats apart by a metre each
        seen: dict[tuple, int] = {}
        for i, key in enumerate(zip(np.round(x, 1), np.round(y, 1))):
            k = seen.get(key, 0)
            seen[key] = k + 1
            x[i] += k
        cells = _cells(x, y)
        minx, miny, maxx, maxy = shapely.GeometryCollection(cells).bounds
        scale = WIDTH / max(maxx - minx, 1.0)
        height = round((maxy - miny) * scale, 1)
        out[gm] = {
            "viewBox": f"0 0 {WIDTH:g} {height:g}",
            "paths": {code: _path(c, scale, minx, maxy) for code, c in zip(g.buurtcode, cells)},
            "attribution": ATTRIBUTION,
        }
    return out


__all__ = ["voronoi_paths", "ATTRIBUTION"]
