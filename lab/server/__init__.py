"""The server's shared state, one copy for every session of the process: plain Python, no Streamlit, importing
nothing of the app but itself (and ``transformer``).

- ``jobs``     -- background training jobs shared by every session, and the fair queue in front of the cores
- ``requests`` -- what the training pages share: a request's progress, following it through the jobs, its estimate
  and the shared-server bound
- ``estimate`` -- how long a training will take, from its settings' own cost, corrected by the trainings this server
  ran; how long a place in the queue will wait
- ``runtime``  -- process set-up: the torch thread policy, ``gc.freeze``, the background warm-up, who uses the server
- ``store``    -- the result store behind get / put / lease: SQLite in a folder (the default), Redis, or off
- ``archive``  -- finished trainings in that store: JSON keyed by settings and code, served after a restart or by
  another replica, a failing store left for memory
- ``class_answers`` -- how a class's lesson predictions split at each step (counts only, in memory), for the teacher
"""
