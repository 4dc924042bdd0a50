"""Every chart the app draws: pure functions from plain numbers to a Vega-Lite chart, unit-tested without a server.

Nothing here imports torch or streamlit; pages turn tensors into lists or arrays before calling. One module per family
(each chart, and what pages read beside it, re-exported here: a page writes ``charts.heatmap_spec``; the
helpers the families share stay in ``base``):

- ``base``        -- the palette, axis names, projector styling, the cached-frame helpers, PNG/SVG export
- ``heatmaps``    -- a labelled matrix (cell by cell, or as a picture), several matrices in one view, a query's stages
- ``heads``       -- attention per head: small multiples, layer x head grids, over training, knock-outs, shares
- ``diagrams``    -- shape diagrams, cost against tokens, softmax peakedness, receptive field, the head split
- ``curves``      -- accuracy and loss against epoch or step, live and final; pinned runs on one chart
- ``digits``      -- a digit, its predicted probabilities, attention over it, the confusion matrix
- ``comparisons`` -- transformer against CNN: data efficiency, robustness, shifts, cost against size
- ``raster``      -- a matrix as a PNG picture, coloured as Vega colours a heatmap's cells
- ``readouts``    -- the logit lens of an example at every training record
- ``sampling``    -- a decoder writing: each step's text, next-token bars, attention and KV cache; cost; temperature
"""
from lab.charts.base import (  # noqa: F401
    OWN_KEY,
    PALETTE,
    altair,
    projector_style,
    title_text,
    to_png,
    to_svg,
    token_labels,
)
from lab.charts.comparisons import (  # noqa: F401
    cost_chart,
    data_efficiency_chart,
    robustness_chart,
    shift_chart,
)
from lab.charts.curves import (  # noqa: F401
    comparison_figure,
    live_curves,
    model_comparison,
    pinned_curves,
    sequence_curves,
    training_curves,
)
from lab.charts.diagrams import (  # noqa: F401
    LINEAR_TERM,
    QUADRATIC_TERM,
    cost_curve_spec,
    head_split_diagram_spec,
    receptive_field_chart,
    shape_diagram_spec,
    softmax_peak_chart,
)
from lab.charts.digits import (  # noqa: F401
    attention_over_digit,
    confusion_chart,
    digit_image,
    digit_overlays,
    drawing_canvas,
    probability_bars,
)
from lab.charts.heads import (  # noqa: F401
    RASTER_CELLS,
    attention_grid,
    attention_over_training,
    circuit_chart,
    head_maps_hover,
    head_maps_spec,
    head_share_chart,
    knockout_chart,
)
from lab.charts.heatmaps import (  # noqa: F401
    TIP_ROWS,
    heatmap_spec,
    heatmaps_spec,
    matrices_spec,
    stages_spec,
)
from lab.charts.readouts import lens_over_training  # noqa: F401
from lab.charts.sampling import (  # noqa: F401
    generation_cost,
    step_explorer,
    temperature_chart,
)
