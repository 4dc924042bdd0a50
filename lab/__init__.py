"""The app around the ``transformer`` package: everything the pages use besides Streamlit itself.

Streamlit-free (unit-tested without a server; ``tests/test_repo.py`` checks that they never import it):

- ``pages``    -- the one list of pages: path, title, icon, section and the coursework question each answers
- ``charts``   -- every chart, as pure functions returning ``alt.Chart``; PNG/SVG export
- ``raster``   -- a matrix as a picture, a pixel a cell in Vega's colours, for heatmaps too big to draw cell by cell
- ``quiz``     -- test-yourself questions (answers from the package) and their marking
- ``jobs``     -- background training jobs shared by every session, and the fair queue in front of the cores
- ``estimate`` -- how long a training will take, from its settings, corrected by the trainings this server ran
- ``requests`` -- what the three training pages share: progress, following a request, its estimate and the bound
- ``runs``     -- page 4's requests (runs of 10, 30 and 50 epochs), presets and result sentences
- ``seqruns``  -- the same for page 6, with the per-head measurements and the sentences built from them
- ``study``    -- page 5's data-efficiency study: its trainings, summary table and computed reading
- ``robust``   -- page 5's tests of the seed answer's claims on the study's models: robustness, shifts, sizes, cost
- ``learned``  -- pages 2 and 3's learned mode: the shared language training, a head's weights, roles, knock-outs
- ``runtime``  -- process set-up: the torch thread policy, ``gc.freeze``, the background warm-up, who uses the server

The Streamlit helpers live in one sub-package, ``lab.ui`` (see its docstring); nothing outside it imports Streamlit.
``runtime`` stays here: it sets up the process (threads, the collector, the warm-up) and counts sessions by the ids
the pages give it, without Streamlit.

- ``ui``       -- the Streamlit helpers: drawing, links, progress, the training page's results, page 2's derivation
"""
