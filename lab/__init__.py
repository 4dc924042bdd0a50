"""The app around the ``transformer`` package: everything the pages use besides Streamlit itself.

Streamlit-free (unit-tested without a server; ``tests/test_repo.py`` checks that they never import it):

- ``pages``    -- the one list of pages: path, title, icon, section and the coursework question each answers
- ``charts``   -- every chart, as pure functions returning ``alt.Chart``; PNG/SVG export
- ``quiz``     -- test-yourself questions (answers from the package) and their marking
- ``jobs``     -- background training jobs shared by every session, and the training page's orchestration

The few Streamlit helpers:

- ``ui``       -- drawing helpers: charts, tables, "show the code", exports, the test-yourself box
- ``links``    -- shareable links: each page's settings kept in the URL and across navigation; presets
- ``runtime``  -- process set-up: the torch thread policy and the background warm-up
"""
