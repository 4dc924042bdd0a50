"""Issue 43: the result store. Each backend (SQLite; Redis from the system's redis-server, started here), the JSON
entries of finished trainings, the faults (a read-only folder, a full disk, Redis unreachable or going away, two
writers at once, a truncated entry), leases between two servers, and a restart that serves instead of training."""
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest
import torch

from lab.server import archive, jobs, store
from transformer.sequence import SeqConfig
from transformer.train import TrainConfig

from conftest import ROOT

TINY = TrainConfig(epochs=2, train_fraction=0.05, n_layers=1)
REDIS = shutil.which("redis-server")
REQUIRED = os.environ.get("REQUIRE_REDIS") == "1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A redis-server of this test's own, on a free port, without persistence."""
    if REDIS is None:
        if REQUIRED:
            pytest.fail("REQUIRE_REDIS=1 but there is no redis-server (apt-get install redis-server)")
        pytest.skip("no redis-server on this machine (apt-get install redis-server); .ci/run installs it")
    port = free_port()
    proc = subprocess.Popen([REDIS, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    for _ in range(200):  # until it answers (a bounded wait, not a fixed sleep)
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.02)
    yield f"redis://127.0.0.1:{port}/0", proc
    proc.kill()
    proc.wait()


@pytest.fixture(params=["sqlite", "redis"])
def backend(request, tmp_path):
    if request.param == "sqlite":
        return store.SQLiteStore(tmp_path / "store", max_bytes=10_000)
    url, _ = request.getfixturevalue("redis_url")
    return store.RedisStore(url, max_bytes=10_000)


def test_put_get_delete_and_the_oldest_go_first(backend):
    backend.put("a", "x" * 4000)
    backend.put("b", "y" * 4000)
    assert backend.get("a") == "x" * 4000 and backend.size() == (2, 8000)
    backend.put("c", "z" * 4000)  # over 10,000 bytes: the oldest, a, goes
    assert backend.get("a") is None and backend.get("b") and backend.get("c")
    backend.delete("b")
    assert backend.get("b") is None and backend.size() == (1, 4000)
    assert backend.has("c") and not backend.has("b")


def test_a_lease_is_held_renewed_released_and_taken_over_once_expired(backend):
    assert backend.lease("k", "server-1", 0.3)
    assert not backend.lease("k", "server-2", 30)  # held by another
    assert backend.lease("k", "server-1", 0.3)  # renewed by its holder
    deadline = time.monotonic() + 10
    while not backend.lease("k", "server-2", 30):  # server-1 stops renewing (it died): the lease expires
        assert time.monotonic() < deadline
        time.sleep(0.05)
    backend.release("k", "server-1")  # not its lease any more: nothing happens
    assert not backend.lease("k", "server-1", 30)
    backend.release("k", "server-2")
    assert backend.lease("k", "server-1", 30)


def finished(config):
    job = jobs.TrainingJob(config)
    job.start().join()
    assert job.state == "done", job.error
    return job


def test_a_finished_training_round_trips_as_json_with_its_weights():
    for config in (TINY, SeqConfig(steps=2, d_model=16, n_heads=2, n_layers=1, length=3)):
        job = finished(config)
        text = archive.encode(config, job.records, job.model)
        assert "pickle" not in text and json.loads(text)["fingerprint"] == archive.FINGERPRINT
        records, model = archive.decode(config, text)
        assert len(records) == len(job.records)
        for got, want in zip(records, job.records, strict=True):
            for name, value in vars(want).items():
                if isinstance(value, torch.Tensor):
                    assert torch.equal(getattr(got, name), value), name
                else:
                    assert getattr(got, name) == value, name
        for name, weight in job.model.state_dict().items():
            assert torch.equal(model.state_dict()[name], weight), name
        with pytest.raises(ValueError, match="other settings"):
            archive.decode(dataclasses.replace(config, seed=5), text)


def test_an_unreadable_entry_is_logged_dropped_and_trained_again(tmp_path, caplog):
    shelf = archive.Archive(store.SQLiteStore(tmp_path))
    job = finished(TINY)
    shelf.save(TINY, job.records, job.model)
    key = archive.key_of(TINY)
    text = shelf.backend.get(key)
    for bad in (text[: len(text) // 2],  # truncated
                text.replace('"float32"', '"object"'),  # a dtype this code never writes
                text.replace('"EpochRecord"', '"os.system"')):  # a record type it does not know
        shelf.backend.put(key, bad)
        assert shelf.load(TINY) is None and shelf.backend.get(key) is None
    assert caplog.text.count("Dropped an unreadable stored result") == 3
    registry = jobs.JobRegistry(archive=shelf)  # and a page asking for it trains it again
    again = registry.start(TINY)
    again.join()
    assert registry.trained == 1 and again.state == "done"


def test_a_read_only_folder_leaves_the_app_in_memory_and_says_so(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    if os.access(folder, os.W_OK):  # root writes anywhere: make SQLite meet what a read-only folder gives it
        def refuse(*args, **kwargs):
            raise store.sqlite3.OperationalError("attempt to write a readonly database")

        monkeypatch.setattr(store.sqlite3, "connect", refuse)
    try:
        opened = store.open_store(str(folder))
    finally:
        folder.chmod(0o700)
    assert opened.kind == "memory" and "could not be used" in opened.status
    registry = jobs.JobRegistry(archive=archive.Archive(opened))  # and the app trains and shows as before
    job = registry.start(TINY)
    job.join()
    assert job.state == "done"


class Full(store.SQLiteStore):
    def put(self, key, value):
        raise OSError(28, "No space left on device")


def test_a_full_disk_switches_to_memory_with_one_warning(tmp_path, caplog):
    shelf = archive.Archive(Full(tmp_path))
    registry = jobs.JobRegistry(archive=shelf)
    job = registry.start(TINY)
    job.join()
    assert job.state == "done" and job.records  # the training is shown all the same
    assert shelf.backend.kind == "memory" and "No space left on device" in shelf.status
    assert caplog.text.count("Result store failed") == 1
    assert registry.start(TINY) is job  # nothing already shown is lost: the server still has it


def test_redis_unreachable_at_start_or_going_away(redis_url, caplog):
    assert store.open_store(f"redis://127.0.0.1:{free_port()}/0").kind == "memory"  # nobody listening
    url, proc = redis_url
    shelf = archive.Archive(store.RedisStore(url))
    registry = jobs.JobRegistry(archive=shelf)
    first = registry.start(TINY)
    first.join()
    proc.kill()  # mid-class
    proc.wait()
    second = registry.start(TINY.replace(seed=1))
    second.join()
    assert second.state == "done" and shelf.backend.kind == "memory"
    assert caplog.text.count("Result store failed") == 1
    assert registry.start(TINY) is first


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_two_servers_writing_the_same_key_at_once(kind, tmp_path, request):
    url = request.getfixturevalue("redis_url")[0] if kind == "redis" else None
    make = (lambda: store.RedisStore(url)) if url else (lambda: store.SQLiteStore(tmp_path))
    values = ["a" * 300_000, "b" * 300_000]
    barrier = threading.Barrier(2)

    def write(value):
        mine = make()  # each "server" its own connection
        barrier.wait()
        for _ in range(5):
            mine.put("same", value)

    threads = [threading.Thread(target=write, args=(v,)) for v in values]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert make().get("same") in values  # one whole value, never a mixture


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_two_servers_asked_for_the_same_settings_train_it_once(kind, tmp_path, request):
    url = request.getfixturevalue("redis_url")[0] if kind == "redis" else str(tmp_path)
    servers = [jobs.JobRegistry(archive=archive.Archive(store.open_store(url), owner=f"server-{i}"))
               for i in range(2)]  # two servers, each its own connection and its own name in the leases
    made = [s.start(TINY) for s in servers]
    for job in made:
        job.join()
    assert sum(s.trained for s in servers) == 1
    assert [r.val_loss for r in made[0].records] == [r.val_loss for r in made[1].records]


def test_a_stored_result_is_no_new_work(tmp_path):
    """A shared server's bound counts new work only: what the store holds is served, never refused."""
    from lab.server.requests import bound

    first = jobs.JobRegistry(archive=archive.Archive(store.SQLiteStore(tmp_path)))
    first.start(TINY).join()
    restarted = jobs.JobRegistry(archive=archive.Archive(store.SQLiteStore(tmp_path)))
    request = type("Request", (), {"trainings": lambda self: [TINY], "shrink": "less"})()
    assert restarted.new_work([TINY, TINY.replace(seed=9)]) == [TINY.replace(seed=9)]
    assert bound(request, restarted, shared=True, limit=0.0).refusal is None


def test_a_lease_left_by_a_dead_server_is_taken_over(tmp_path, monkeypatch):
    backend = store.SQLiteStore(tmp_path)
    assert backend.lease(archive.key_of(TINY), "a-server-that-died", 0.5)
    registry = jobs.JobRegistry(archive=archive.Archive(backend))
    job = registry.start(TINY)
    job.join(timeout=60)
    assert job.state == "done" and registry.trained == 1


RESTART = """
import json, sys, time
from lab.server.jobs import REGISTRY
from lab.analyses.study import StudyRequest
request = StudyRequest(seeds=1, epochs=2, shares=(0.05, 0.1))
t0 = time.perf_counter()
made = [REGISTRY.start(c) for c in request.trainings()]
for job in made:
    job.join()
results = request.snapshot({c: REGISTRY.get(c) for c in request.trainings()}).results
print(json.dumps({"trained": REGISTRY.trained, "served": REGISTRY.served, "seconds": time.perf_counter() - t0,
                  "val_acc": results.val_acc.tolist()}))
"""


def test_after_a_restart_the_study_is_served_not_trained(tmp_path):
    """A server (this process's registry on a store folder) finishes a small page-5 study; a new server process on
    the same folder serves it without training."""
    from lab.analyses.study import StudyRequest

    request = StudyRequest(seeds=1, epochs=2, shares=(0.05, 0.1))
    first = jobs.JobRegistry(archive=archive.Archive(store.SQLiteStore(tmp_path / "store")))
    for job in [first.start(c) for c in request.trainings()]:
        job.join()
    assert first.trained == 4
    trained = request.snapshot({c: first.get(c) for c in request.trainings()}).results.val_acc.tolist()
    out = subprocess.run([sys.executable, "-c", RESTART], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "LAB_STORE": str(tmp_path / "store")})
    assert out.returncode == 0, out.stderr
    second = json.loads(out.stdout.splitlines()[-1])
    assert second["trained"] == 0 and second["served"] == 4 and second["val_acc"] == trained
