"""Results that outlive the server: finished trainings kept in a store behind one small interface (``get``, ``put``,
``lease``; with ``has``, ``delete``, ``release`` and ``size`` beside them), chosen by ``LAB_STORE``:

- a folder path (the default, ``.lab_store`` beside app.py): SQLite from the standard library in WAL mode, one file,
  no server to start; several processes on one machine may share it;
- ``redis://host:port/db``: Redis (the ``redis`` client package), what several replicas share;
- ``off``: nothing kept beyond the server's memory.

Values are JSON text (numbers and strings only: never pickle, so a tampered store cannot run code), each written in
one step (a SQLite transaction, a Redis SET: a crash leaves the old value or none), bounded in size (``LAB_STORE_MB``,
200 by default; the oldest entries go first). A store that fails (a read-only or full folder, Redis gone) is left for
the server's memory with one warning, and says so in ``status`` (the teacher view shows it); nothing already shown
is lost, since the server keeps its finished jobs in memory either way.

A lease says which server trains a configuration: ``lease`` gives it to the first asker for ``ttl`` seconds, renewed
while it trains; another server asked for the same settings waits for the entry instead of training it again, and
takes the lease over if it expires (its holder died). No streamlit here.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path

LOG = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FOLDER = ROOT / ".lab_store"
MAX_BYTES = int(float(os.environ.get("LAB_STORE_MB", "200")) * 1e6)
OWNER = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"  # this server, as its leases name it


class Memory:
    """No store: every result lives in the server's memory only (``off``, or what a failing store falls back to).
    Leases are held in this process (so one server never trains a configuration twice)."""

    kind = "memory"

    def __init__(self, reason: str = ""):
        self.reason = reason
        self._leases: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    @property
    def status(self) -> str:
        return "results kept in this server's memory only" + (f" ({self.reason})" if self.reason else "")

    def get(self, key: str) -> str | None:
        return None

    def has(self, key: str) -> bool:
        return False

    def put(self, key: str, value: str) -> None:
        return None

    def delete(self, key: str) -> None:
        return None

    def lease(self, key: str, owner: str, ttl: float) -> bool:
        with self._lock:
            holder = self._leases.get(key)
            if holder is None or holder[0] == owner or holder[1] < time.time():
                self._leases[key] = (owner, time.time() + ttl)
                return True
            return False

    def release(self, key: str, owner: str) -> None:
        with self._lock:
            if self._leases.get(key, ("",))[0] == owner:
                del self._leases[key]

    def size(self) -> tuple[int, int]:
        return 0, 0


class SQLiteStore:
    """One SQLite file in WAL mode: readers never wait for the writer, each write one transaction."""

    kind = "sqlite"

    def __init__(self, folder: Path, max_bytes: int = MAX_BYTES):
        self.path, self.max_bytes = Path(folder) / "results.sqlite", max_bytes
        Path(folder).mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # one connection, shared by the server's threads
        self._db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
                         "size INTEGER NOT NULL, written REAL NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY, owner TEXT NOT NULL, "
                         "expires REAL NOT NULL)")

    @property
    def status(self) -> str:
        n, size = self.size()
        return f"results kept in {self.path} (SQLite): {n} entries, {size / 1e6:.1f} of {self.max_bytes / 1e6:.0f} MB"

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def has(self, key: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM entries WHERE key = ?", (key,)).fetchone() is not None

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)",
                                 (key, value, len(value.encode()), time.time()))
                total = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]
                while total > self.max_bytes:  # the oldest first, never the one just written
                    old = self._db.execute("SELECT key, size FROM entries WHERE key != ? ORDER BY written LIMIT 1",
                                           (key,)).fetchone()
                    if old is None:
                        break
                    self._db.execute("DELETE FROM entries WHERE key = ?", (old[0],))
                    total -= old[1]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def delete(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM entries WHERE key = ?", (key,))

    def lease(self, key: str, owner: str, ttl: float) -> bool:
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT owner, expires FROM leases WHERE key = ?", (key,)).fetchone()
                mine = row is None or row[0] == owner or row[1] < now
                if mine:
                    self._db.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", (key, owner, now + ttl))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return mine

    def release(self, key: str, owner: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM leases WHERE key = ? AND owner = ?", (key, owner))

    def size(self) -> tuple[int, int]:
        with self._lock:
            n, total = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries").fetchone()
        return int(n), int(total)


class RedisStore:
    """Redis, shared by several servers: an entry is one SET, a lease one SET NX with an expiry."""

    kind = "redis"
    PREFIX = "lab:"

    def __init__(self, url: str, max_bytes: int = MAX_BYTES):
        import redis  # only a Redis store needs the client

        self.url, self.max_bytes = url, max_bytes
        self._r = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        self._r.ping()

    @property
    def status(self) -> str:
        n, size = self.size()
        return (f"results kept in Redis at {self.url.split('@')[-1]}: {n} entries, {size / 1e6:.1f} of "
                f"{self.max_bytes / 1e6:.0f} MB")

    def get(self, key: str) -> str | None:
        value = self._r.get(self.PREFIX + "entry:" + key)
        return None if value is None else value.decode()

    def has(self, key: str) -> bool:
        return bool(self._r.exists(self.PREFIX + "entry:" + key))

    def put(self, key: str, value: str) -> None:
        size, now = len(value.encode()), time.time()
        pipe = self._r.pipeline(transaction=True)
        pipe.set(self.PREFIX + "entry:" + key, value)
        pipe.zadd(self.PREFIX + "written", {key: now})
        pipe.hset(self.PREFIX + "sizes", key, size)
        pipe.execute()
        sizes = {k.decode(): int(v) for k, v in self._r.hgetall(self.PREFIX + "sizes").items()}
        total = sum(sizes.values())
        for old in self._r.zrange(self.PREFIX + "written", 0, -1):  # the oldest first, never the one just written
            if total <= self.max_bytes:
                break
            old = old.decode()
            if old != key:
                self.delete(old)
                total -= sizes.get(old, 0)

    def delete(self, key: str) -> None:
        pipe = self._r.pipeline(transaction=True)
        pipe.delete(self.PREFIX + "entry:" + key)
        pipe.zrem(self.PREFIX + "written", key)
        pipe.hdel(self.PREFIX + "sizes", key)
        pipe.execute()

    def lease(self, key: str, owner: str, ttl: float) -> bool:
        name = self.PREFIX + "lease:" + key
        if self._r.set(name, owner, nx=True, px=int(ttl * 1000)):
            return True
        if (self._r.get(name) or b"").decode() == owner:  # ours: renewed
            self._r.pexpire(name, int(ttl * 1000))
            return True
        return False

    def release(self, key: str, owner: str) -> None:
        name = self.PREFIX + "lease:" + key
        if (self._r.get(name) or b"").decode() == owner:
            self._r.delete(name)

    def size(self) -> tuple[int, int]:
        sizes = self._r.hvals(self.PREFIX + "sizes")
        return len(sizes), sum(int(s) for s in sizes)


def open_store(spec: str | None = None):
    """The store ``spec`` (else LAB_STORE) names; Memory, with the reason, when it cannot be opened."""
    spec = os.environ.get("LAB_STORE", str(DEFAULT_FOLDER)) if spec is None else spec
    if spec in ("off", "", "memory"):
        return Memory("LAB_STORE=off" if spec == "off" else "")
    try:
        if spec.startswith(("redis://", "rediss://", "unix://")):
            return RedisStore(spec)
        return SQLiteStore(Path(spec))
    except Exception as err:  # a read-only folder, an unreachable Redis: the app goes on in memory
        LOG.warning("Result store %s cannot be used (%s): results are kept in memory only.", spec, err)
        return Memory(f"{spec} could not be used: {type(err).__name__}: {err}")
