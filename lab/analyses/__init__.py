"""What the pages show, by concept: each module turns the ``transformer`` package's numbers into the requests,
tables and sentences a page draws. Plain Python, no Streamlit; imports ``lab.server`` and ``transformer``.

- ``classifier_runs`` -- page 4's requests (runs of 10, 30 and 50 epochs), presets and result sentences
- ``sequence_runs``   -- page 6's requests, the per-head measurements and the sentences built from them
- ``study``           -- page 5's data-efficiency study: its trainings, summary table and computed reading
- ``claims``          -- page 5's tests of the seed answer's claims on the study's models: robustness, shifts,
  sizes, cost
- ``learned_heads``   -- pages 2 and 3's learned mode: the shared language training, a head's weights, roles,
  knock-outs
- ``quiz``            -- test-yourself questions (answers from the package) and their marking
- ``causes``          -- page 3's activation patching: a sentence's corrupted twin, the grids and their reading
- ``writing``         -- page 7: a trained decoder that writes, each step's choices and cache, the cost of the
  cache, the temperature study and its reading
- ``comparison``      -- pinned runs (pages 4 and 6): pins as URL text, named by what differs, their table and the
  sentence that compares them against the seeds' spread
- ``takeaway``        -- a run as a Python script that trains it again (same settings and seeds), its records as CSV
- ``drawing``         -- page 4's canvas: a drawing checked, centred like the training digits, read in words
- ``lessons``         -- lessons as data: the TOML files in ``lessons/`` read and checked, a prediction marked, the
  end-of-lesson summary
- ``predictions``     -- what each lesson question is checked against: a function of a page's settings and of the
  session's results, never a value
"""
