"""The app's Streamlit helpers: the only modules of ``lab`` that import Streamlit (the layer rule, checked by
``tests/unit/test_layers.py``). The pages draw with them; every layer below (``lab.analyses``, ``lab.server``,
``lab.charts``) is plain Python.

- ``draw``             -- drawing helpers: charts, tables, "show the code", exports, the test-yourself box, projector
  mode and the stylesheet that fits charts to a phone; its functions are importable from ``lab.ui`` itself
- ``links``            -- shareable links: each page's settings kept in the URL, across navigation and Back; presets
- ``progress``         -- the request a training page shows, its estimate, bound, place in line, progress and Cancel
- ``results``          -- the training page's result sections and the look inside the trained model
- ``explain``          -- page 2's derivation of one weight, positions, the claims it tests, random mode's inputs
- ``induction_panel``  -- page 6's induction task: curves with the jump marked, the circuit's heads, a typed sequence
- ``knockout_panel``   -- page 6's knock-outs: each head removed in turn, the verdict, any set of heads removed
- ``claims_panel``     -- page 5's measured claims: robustness, shifts and sizes, cost against size
- ``learned_panel``    -- the trained language model on demand, the sentence check, page 3's learned heads
- ``causes_panel``     -- page 3's activation patching: a sentence, its twin, the head and residual grids
- ``generate_panel``   -- page 7: the model that writes, its streamed text, the step explorer, the cache, temperature
- ``experiments``      -- pages 4 and 6: pin a run, the pinned runs compared, the take-home script and CSV
- ``drawing_panel``    -- page 4's "draw a digit": the canvas tapped cell by cell and the trained model's reading
- ``page_fields``      -- each page's settings as its link holds them, in one place (the pages and the lessons read it)
- ``lesson_panel``     -- a lesson over the real pages: the step, the prediction, the reveal, Back / Next, the summary,
  the teacher's class view
"""
from lab.ui.draw import (
    app_frame,
    cell,
    chart,
    exports,
    figure,
    lazy,
    md_escape,
    projector,
    projector_toggle,
    room,
    self_check,
    settings_box,
    show_code,
    table,
)

__all__ = ["app_frame", "cell", "chart", "exports", "figure", "lazy", "md_escape", "projector", "projector_toggle",
           "room", "self_check", "settings_box", "show_code", "table"]
