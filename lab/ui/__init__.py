"""The app's Streamlit helpers: the only modules of ``lab`` that import Streamlit (``tests/test_repo.py`` checks the
rule by folder). The pages draw with them; everything below them (``lab/*.py``) is plain Python.

- ``draw``     -- drawing helpers: charts, tables, "show the code", exports, the test-yourself box, projector mode and
  the stylesheet that fits charts to a phone; its functions are importable from ``lab.ui`` itself (``ui.chart``)
- ``links``    -- shareable links: each page's settings kept in the URL, across navigation and Back; presets
- ``progress`` -- the request a training page shows, its estimate, bound, place in line, progress and Cancel
- ``results``  -- the training page's result sections and the look inside the trained model
- ``explain``  -- page 2's derivation of one weight, positions, the claims it tests, random mode's inputs
- ``induction`` -- page 6's induction task: curves with the jump marked, the circuit's heads, a typed sequence
- ``knockout`` -- page 6's knock-outs: each head removed in turn, the verdict, any set of heads removed together
- ``robust``   -- page 5's measured claims: robustness, shifts and sizes, cost against size
- ``learned``  -- the trained language model on demand, the sentence check, page 3's learned heads and knock-outs
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
