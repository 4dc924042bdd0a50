"""lab.charts.raster: a matrix as a picture, coloured as Vega colours a heatmap's cells."""
import base64
import io
import json
import re

import numpy as np
import pytest

from lab.charts import raster


@pytest.mark.parametrize("scheme,domain", [("blues", (0, 1)), ("redblue", (-3, 3))])
def test_colours_are_the_ones_vega_gives_a_heatmaps_cells(scheme, domain):
    """Vega's own fills for 101 values across the domain (and two outside it, clamped) under each scheme the app
    draws pictures with, against ``raster.colours``: the pictures, the cell-by-cell maps and the legend agree to a
    unit of RGB."""
    import vl_convert as vlc

    lo, hi = domain
    values = [lo + (hi - lo) * i / 100 for i in range(101)] + [lo - 1, hi + 1]
    spec = {"data": {"values": [{"i": i, "w": v} for i, v in enumerate(values)]}, "mark": "rect",
            "encoding": {"x": {"field": "i", "type": "ordinal"},
                         "color": {"field": "w", "type": "quantitative",
                                   "scale": {"scheme": scheme, "domain": list(domain), "clamp": True}}}}
    fills = re.findall(r'<path[^>]*fill="rgb\((\d+), (\d+), (\d+)\)"', vlc.vegalite_to_svg(json.dumps(spec)))
    assert len(fills) == len(values)
    vega = np.array(fills, dtype=int)
    assert np.abs(raster.colours(values, scheme, domain).astype(int) - vega).max() <= 1


def test_png_decodes_to_the_same_pixels():
    from PIL import Image

    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(raster.png(rgb))))
    assert decoded.shape == (5, 7, 3) and (decoded == rgb).all()


def test_data_url_is_the_matrix_row_by_row():
    """Row i of the matrix is row i of the picture from the top (a query's row), column j its column j (a key)."""
    from PIL import Image

    m = np.zeros((3, 4))
    m[1, 3] = 1.0
    url = raster.data_url(m)
    assert url.startswith("data:image/png;base64,")
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    dark = np.argwhere(pixels.sum(axis=2) == pixels.sum(axis=2).min())
    assert dark.tolist() == [[1, 3]]
    assert tuple(pixels[1, 3]) == tuple(raster.colours(1.0)) and tuple(pixels[0, 0]) == tuple(raster.colours(0.0))
