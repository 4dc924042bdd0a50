"""A matrix as a picture: one pixel per cell, coloured as Vega colours a heatmap's cells, for charts too large to draw
cell by cell quickly (page 3's attention maps: a 64 x 64 map is 4,096 rectangles for the browser to build on every
redraw, or one image). No Streamlit, no image library: the PNG is written here."""
from __future__ import annotations

import base64
import struct
import zlib

import numpy as np

# Vega's continuous schemes as the colours it interpolates between, evenly spaced, in RGB (vega-scale's definitions;
# tests/unit/test_raster.py checks the colours below against the fills Vega itself gives a heatmap's cells)
SCHEMES = {"blues": "cfe1f2bed8eca8cee58fc1de74b2d75ba3cf4592c63181bd206fb2125ca40a4a90",
           "redblue": "8c0d25bf363adf745ef4ae91fbdbc9f2efeed2e5ef9dcae15da2cb2f78b3134b85"}
BLUES = SCHEMES["blues"]


def stops(scheme: str) -> np.ndarray:
    """A scheme's colours (its name in ``SCHEMES``, or its colours as hex), (n, 3) in 0..255."""
    scheme = SCHEMES.get(scheme, scheme)
    return np.array([[int(scheme[i + j:i + j + 2], 16) for j in (0, 2, 4)] for i in range(0, len(scheme), 6)],
                    dtype=float)


def colours(values, scheme: str = BLUES, domain: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """``values`` (any shape) as RGB, shape (..., 3) uint8: clamped to ``domain`` and interpolated linearly between
    the scheme's colours, as Vega's continuous colour scales do (d3's piecewise RGB interpolation, rounded)."""
    points = stops(scheme)
    lo, hi = domain
    t = np.clip((np.asarray(values, dtype=float) - lo) / ((hi - lo) or 1.0), 0.0, 1.0) * (len(points) - 1)
    i = np.minimum(t.astype(int), len(points) - 2)  # the stop at or below t (the last segment includes its end)
    frac = (t - i)[..., None]
    return np.rint(points[i] + (points[i + 1] - points[i]) * frac).astype(np.uint8)


def png(rgb: np.ndarray) -> bytes:
    """An (h, w, 3) uint8 array as PNG bytes: 8-bit RGB, no filter, one zlib stream."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    scanlines = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, w * 3)], axis=1)  # (h, 1 + 3w): filter 0

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # width, height, 8 bits, truecolour, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 6))
            + chunk(b"IEND", b""))


def data_url(values, scheme: str = BLUES, domain: tuple[float, float] = (0.0, 1.0)) -> str:
    """A 2-D matrix as a ``data:`` URL of its PNG (row i is the picture's row i, from the top), for an image mark."""
    return "data:image/png;base64," + base64.b64encode(png(colours(values, scheme, domain))).decode()
