"""Process set-up, called once per run from app.py before any page: the torch thread policy, the collector and the
warm-up."""
from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections.abc import Callable

THREADS_ENV = "LAB_TORCH_THREADS"


def torch_threads() -> int:
    """One torch thread per computation (LAB_TORCH_THREADS to change it): this app's matrices are small, a second
    thread gains little, and with several sessions at once OpenMP threads spinning for a busy core cost far more.
    Training jobs run side by side instead, one per core (``lab.server.jobs``)."""
    return max(1, int(os.environ.get(THREADS_ENV, 1)))


def set_torch_threads() -> None:
    """Apply the thread policy to this process. Before torch is imported it goes in through OMP_NUM_THREADS (which
    torch reads when it loads), so the landing page still never imports torch; after, through set_num_threads."""
    wanted = torch_threads()
    torch = sys.modules.get("torch")
    if torch is None or not hasattr(torch, "set_num_threads"):  # not imported, or another thread is importing it
        os.environ["OMP_NUM_THREADS"] = str(wanted)
    elif torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


_frozen_modules = 0  # len(sys.modules) at the last gc.freeze
_freeze_lock = threading.Lock()


def freeze_long_lived() -> bool:
    """Move what the imports built (torch, Altair, pandas and Streamlit: about 250,000 objects that live as long as
    the server) out of the cyclic garbage collector's sight, once more each time new modules have been imported.
    Streamlit runs a full collection after every script run (``runner.postScriptGC``); over those objects it is long
    enough to stall the training threads, once for every session whose run ended. Frozen objects are still freed by
    reference counting. True when it froze."""
    global _frozen_modules
    with _freeze_lock:
        if len(sys.modules) <= _frozen_modules:
            return False
        gc.collect()  # what is garbage now is not frozen
        gc.freeze()
        _frozen_modules = len(sys.modules)
        return True


def set_up_process() -> None:
    """What app.py runs before every page: the thread policy, and the collector's view of long-lived objects."""
    set_torch_threads()
    freeze_long_lived()


_warm_up_lock = threading.Lock()
_warm_up_thread: threading.Thread | None = None


def warm_up(also: Callable[[], object] | None = None) -> threading.Thread | None:
    """Once per server process, after the landing page is drawn: import torch and the package and run one
    meta-device operation in a background thread, so the first teaching page opens without that wait. The landing
    page itself never waits for it. LAB_WARM_UP=0 turns it off. ``also``: more start-up work for the same thread (the
    lessons' check), run before the freeze.

    What it imported is then frozen (``freeze_long_lived``) in the same thread, so the collection that takes is not
    paid by the first teaching page's run; Altair is among it, so page 2's first switch to learned mode (the first
    run to import it otherwise) pays no collection of its own either."""
    global _warm_up_thread
    if os.environ.get("LAB_WARM_UP", "1") == "0":
        return None
    with _warm_up_lock:
        if _warm_up_thread is None:
            def work():
                import altair  # noqa: F401  (the charts' library)
                import pandas  # noqa: F401
                import torch

                import transformer.language  # noqa: F401  (the language model behind pages 2 and 3's learned heads)
                import transformer.train  # noqa: F401  (torch, the model and the data loader)
                from transformer.shapes import self_attention_shapes

                set_torch_threads()
                self_attention_shapes(2, 2)  # the first meta-device operation loads PyTorch's shape rules
                # the first fused AdamW in a process imports torch._dynamo, a long import: paid here, not by the
                # first student's first training
                weight = torch.nn.Parameter(torch.zeros(2))
                weight.grad = torch.ones(2)
                torch.optim.AdamW([weight], fused=True).step()
                if also is not None:
                    also()
                freeze_long_lived()  # here, while the landing page is read, not in the first teaching page's run

            _warm_up_thread = threading.Thread(target=work, name="warm-up", daemon=True)
            _warm_up_thread.start()
    return _warm_up_thread


# ------------------------------------------------------------------ is this server shared?
_sessions: dict[str, float] = {}  # session id -> when it last ran a page
_sessions_lock = threading.Lock()
SHARED_WINDOW = 600.0  # seconds: two sessions seen within this time make the server shared


def seen(session: str) -> None:
    """Note that ``session`` ran a page now; sessions unseen for longer than any window asked about are forgotten,
    so the record stays as small as the class."""
    now = time.monotonic()
    with _sessions_lock:
        _sessions[session] = now
        for old in [s for s, t in _sessions.items() if now - t >= SHARED_WINDOW]:
            del _sessions[old]


def active_sessions(window: float = 60.0) -> int:
    """Sessions that ran a page in the last ``window`` seconds (at most ``SHARED_WINDOW``)."""
    now = time.monotonic()
    with _sessions_lock:
        return sum(1 for t in _sessions.values() if now - t < window)


def shared() -> bool:
    """True when this server serves a class: LAB_SHARED=1 (or 0) says so outright; otherwise, when two or more
    sessions have used it in the last ten minutes."""
    forced = os.environ.get("LAB_SHARED")
    if forced in ("0", "1"):
        return forced == "1"
    return active_sessions(SHARED_WINDOW) >= 2


def max_train_seconds() -> float:
    """The most training one request may ask for on a shared server (LAB_MAX_TRAIN_SECONDS, 30 by default)."""
    return float(os.environ.get("LAB_MAX_TRAIN_SECONDS", 30))
