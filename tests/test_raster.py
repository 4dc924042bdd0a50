"""lab.raster: a matrix as a picture, coloured as Vega colours a heatmap's cells."""
import base64
import io
import json
import re

import numpy as np

from lab import raster


def test_colours_are_the_ones_vega_gives_a_heatmaps_cells():
    """Vega's own fills for 41 weights from 0 to 1 (and two outside the domain, clamped) under the "blues" scheme,
    against ``raster.colours``: the pictures and the cell-by-cell maps (and the legend) agree to a unit of RGB."""
    import vl_convert as vlc

    values = [i / 40 for i in range(41)] + [-0.2, 1.3]
    spec = {"data": {"values": [{"i": i, "w": v} for i, v in enumerate(values)]}, "mark": "rect",
            "encoding": {"x": {"field": "i", "type": "ordinal"},
                         "color": {"field": "w", "type": "quantitative",
                                   "scale": {"scheme": "blues", "domain": [0, 1], "clamp": True}}}}
    fills = re.findall(r'<path[^>]*fill="rgb\((\d+), (\d+), (\d+)\)"', vlc.vegalite_to_svg(json.dumps(spec)))
    assert len(fills) == len(values)
    vega = np.array(fills, dtype=int)
    assert np.abs(raster.colours(values).astype(int) - vega).max() <= 1


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
