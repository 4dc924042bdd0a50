"""Process set-up (lab/server/runtime.py): the collector's view of the long-lived objects the imports built."""
import gc
import sys
import types

from lab.server import runtime


def test_what_the_imports_built_is_frozen_once_per_new_import(monkeypatch):
    monkeypatch.setattr(runtime, "_frozen_modules", 0)
    try:
        assert runtime.freeze_long_lived()
        assert gc.get_freeze_count() > 100_000  # torch and Streamlit are imported in this process
        assert not runtime.freeze_long_lived()  # nothing new imported: nothing to do
        monkeypatch.setitem(sys.modules, "lab_new_module", types.ModuleType("lab_new_module"))
        assert runtime.freeze_long_lived()
        cycle: list = []
        cycle.append(cycle)  # garbage made after the freeze is still collected
        del cycle
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
