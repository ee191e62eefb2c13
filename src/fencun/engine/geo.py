"""Coordinates and distances.

fencun stores every coordinate in GCJ-02, the datum of Chinese maps (Amap, Tencent),
where merchants look up their stores. GPS (WGS-84) points are converted on entry:
mixing the two datums shifts points by about 500 m in China.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
from numpy.typing import ArrayLike

GCJ02 = "gcj02"
WGS84 = "wgs84"
DATUMS = (GCJ02, WGS84)

_A = 6378245.0  # Krasovsky 1940 semi-major axis, used by the GCJ-02 obfuscation
_EE = 0.00669342162296594323
EARTH_RADIUS_KM = 6371.0088


def _outside_china(lat: float, lng: float) -> bool:
    return not (73.66 < lng < 135.05 and 3.86 < lat < 53.55)


def _transform_lat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _transform_lng(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """Convert a WGS-84 point to GCJ-02 (identity outside mainland China)."""
    if _outside_china(lat, lng):
        return lat, lng
    dlat = _transform_lat(lng - 105.0, lat - 35.0)
    dlng = _transform_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lat + dlat, lng + dlng


def to_gcj02(lat: float, lng: float, datum: str) -> tuple[float, float]:
    """Return the point in GCJ-02; ``datum`` is ``gcj02`` or ``wgs84``."""
    if datum == GCJ02:
        return lat, lng
    if datum == WGS84:
        return wgs84_to_gcj02(lat, lng)
    raise ValueError(f"unknown datum {datum!r}; expected one of {DATUMS}")


def valid_point(lat: float, lng: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180


@overload
def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float: ...
@overload
def haversine_km(
    lat1: ArrayLike, lng1: ArrayLike, lat2: ArrayLike, lng2: ArrayLike
) -> np.ndarray: ...
def haversine_km(
    lat1: ArrayLike, lng1: ArrayLike, lat2: ArrayLike, lng2: ArrayLike
) -> float | np.ndarray:
    """Great-circle distance in km; accepts scalars or numpy arrays (broadcast)."""
    lat1, lng1, lat2, lng2 = (
        np.radians(np.asarray(v, dtype=np.float64)) for v in (lat1, lng1, lat2, lng2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lng2 - lng1) / 2) ** 2
    )
    km: float | np.ndarray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return km


def nearest_store_km(
    lat: np.ndarray, lng: np.ndarray, stores: list[tuple[float, float]]
) -> np.ndarray:
    """Distance in km from each point to its nearest store; NaN where the point is unknown."""
    lat = np.asarray(lat, dtype=np.float64)
    lng = np.asarray(lng, dtype=np.float64)
    best = np.full(lat.shape, np.inf)
    for s_lat, s_lng in stores:
        np.minimum(best, haversine_km(lat, lng, s_lat, s_lng), out=best)
    best[~np.isfinite(lat) | ~np.isfinite(lng)] = np.nan
    if not stores:
        best[:] = np.nan
    return best
