"""The app around the ``transformer`` package, in four layers, each a folder; a layer imports only the layers below
it (``tests/unit/test_layers.py`` checks it, lazy imports included; ``docs/architecture.md`` draws it):

- ``ui``       -- everything that imports Streamlit: drawing, links, progress, each page's panels
- ``analyses`` -- per-concept analyses the pages show: page 4's runs, page 5's study and claims, page 6's runs, the
  learned language model's heads, the test-yourself questions. Plain Python, no Streamlit
- ``server``   -- the server's shared state: training jobs and their fair queue, requests and their progress,
  estimates, process set-up. Plain Python, no Streamlit
- ``charts``   -- every chart, pure functions from plain numbers to a Vega-Lite chart. No torch, no Streamlit
- ``pages``    -- the one list of pages (path, title, icon, section, question), beside the layers: it imports
  nothing of the app, and everything may import it
"""
