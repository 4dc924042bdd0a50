"""Finished trainings kept in the result store (``lab.server.store``): what the server's jobs read before training and
write when a training ends. No streamlit here.

An entry is keyed by the configuration *and* a fingerprint of the code that trains it (every file of
``transformer/``), so a changed model never serves stale numbers. Its value is JSON: the records (numbers, and
tensors as base64 text with their dtype and shape) and the trained weights the same way; reading it back builds
the model from its config and loads the weights (never pickle). An entry that cannot be read (truncated, tampered,
from a record type this code does not know) is logged, dropped and trained again, never shown.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
from dataclasses import fields, is_dataclass

import numpy as np
import torch

from lab.server import store

LOG = logging.getLogger(__name__)
LEASE_SECONDS = 30.0  # a training renews its lease with every record; a lease not renewed this long is taken over
DTYPES = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "int32": np.int32, "bool": np.bool_}


def code_fingerprint() -> str:
    """A hash of every file of the ``transformer`` package (its code and its data)."""
    digest = hashlib.sha256()
    folder = store.ROOT / "transformer"
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


FINGERPRINT = code_fingerprint()


def _record_types() -> dict:
    from transformer.decoder import SeqRecord
    from transformer.language import LanguageRecord
    from transformer.train import EpochRecord

    return {t.__name__: t for t in (EpochRecord, SeqRecord, LanguageRecord)}


def key_of(config) -> str:
    return hashlib.sha256(f"{FINGERPRINT}|{type(config).__name__}|{config!r}".encode()).hexdigest()


def _encode(value):
    if isinstance(value, torch.Tensor):
        array = value.detach().cpu().contiguous().numpy()
        if array.dtype.name not in DTYPES:
            raise ValueError(f"a tensor of dtype {array.dtype} cannot be stored")
        return {"__tensor__": base64.b64encode(array.tobytes()).decode(), "dtype": array.dtype.name,
                "shape": list(array.shape)}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"a {type(value).__name__} cannot be stored")


def _decode(value):
    if isinstance(value, dict):
        if "__tensor__" in value:
            dtype = DTYPES[value["dtype"]]  # KeyError for a dtype this code never writes
            array = np.frombuffer(base64.b64decode(value["__tensor__"], validate=True), dtype=dtype)
            return torch.from_numpy(array.copy().reshape(value["shape"]))
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def encode(config, records: list, model) -> str:
    """A finished training as JSON text."""
    if not records or not is_dataclass(records[0]):
        raise ValueError("only a training with records is stored")
    return json.dumps({
        "fingerprint": FINGERPRINT, "config": repr(config), "record_type": type(records[0]).__name__,
        "records": [{f.name: _encode(getattr(r, f.name)) for f in fields(r)} for r in records],
        "weights": _encode(model.state_dict()) if model is not None else None,
    }, separators=(",", ":"))


def decode(config, text: str) -> tuple[list, object]:
    """(records, model with the stored weights) from JSON text; ValueError (or KeyError, TypeError) for anything
    that is not exactly what ``encode`` wrote for this config and this code."""
    data = json.loads(text)
    if data.get("fingerprint") != FINGERPRINT or data.get("config") != repr(config):
        raise ValueError("written for other code or other settings")
    kind = _record_types()[data["record_type"]]
    names = {f.name for f in fields(kind)}
    records = []
    for raw in data["records"]:
        if set(raw) != names:
            raise ValueError(f"a {kind.__name__} with fields {sorted(raw)}")
        records.append(kind(**{k: _decode(v) for k, v in raw.items()}))
    model = None
    if data["weights"] is not None:
        model = config.build()
        model.load_state_dict(_decode(data["weights"]), strict=True)
        model.eval()
    if not records:
        raise ValueError("no records")
    return records, model


class Archive:
    """The server's finished trainings in its store, with the store's failures handled: a backend that fails is
    replaced by memory (one warning; ``status`` says why), a bad entry is dropped."""

    def __init__(self, backend=None, owner: str = store.OWNER):
        self.backend = store.open_store() if backend is None else backend
        self.owner = owner  # this server, as its leases name it
        self._lock = threading.Lock()

    @property
    def status(self) -> str:
        try:
            return self.backend.status
        except Exception as err:
            self._failed(err)
            return self.backend.status

    def _failed(self, err: Exception) -> None:
        with self._lock:
            if self.backend.kind != "memory":
                LOG.warning("Result store failed (%s: %s): results are kept in memory only from now on.",
                            type(err).__name__, err)
                self.backend = store.Memory(f"the {self.backend.kind} store failed: {type(err).__name__}: {err}")

    def _call(self, method: str, *args, default=None):
        try:
            return getattr(self.backend, method)(*args)
        except Exception as err:  # the folder went read-only or full, Redis went away: memory from now on
            self._failed(err)
            return getattr(self.backend, method)(*args) if method in ("lease", "release") else default

    def load(self, config) -> tuple[list, object] | None:
        key = key_of(config)
        text = self._call("get", key)
        if text is None:
            return None
        try:
            return decode(config, text)
        except Exception as err:  # truncated or tampered: never shown, trained again
            LOG.warning("Dropped an unreadable stored result for %r (%s: %s); it will be trained again.", config,
                        type(err).__name__, err)
            self._call("delete", key)
            return None

    def has(self, config) -> bool:
        """Whether the store holds a result for ``config`` (not read: it may still prove unreadable)."""
        return bool(self._call("has", key_of(config), default=False))

    def save(self, config, records: list, model) -> None:
        try:
            text = encode(config, records, model)
        except ValueError as err:
            LOG.warning("Not stored: %r (%s)", config, err)
            return
        self._call("put", key_of(config), text)

    def lease(self, config) -> bool:
        """True: this server trains ``config`` (the lease is its own, new or renewed); False: another server is."""
        return bool(self._call("lease", key_of(config), self.owner, LEASE_SECONDS, default=True))

    def release(self, config) -> None:
        self._call("release", key_of(config), self.owner)


ARCHIVE = Archive()
