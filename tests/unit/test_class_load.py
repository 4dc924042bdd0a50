"""What a class hits on one server (issue 19), as plain Python: the shared-server bound, the seed lock, the
warm-up, the live chart, the count of finished trainings and the sentences about the heads."""
import threading

import pandas as pd
import torch

from lab import charts
from lab.analyses.classifier_runs import TrainingRequest, live_frame
from lab.analyses.sequence_runs import SeqRequest, spread_sentence
from lab.analyses.study import StudyRequest
from lab.server import estimate
from lab.server.jobs import JobRegistry, TrainingJob
from lab.server.requests import Bar, Progress, bound, progress_of
from transformer.sequence import SeqConfig, build_sequence_model
from transformer.train import TrainConfig, build_model

TINY_SEQ = SeqConfig(length=3, d_model=16, n_heads=2, n_layers=1, steps=4, batch_size=8)


def test_the_study_at_its_defaults_always_runs_on_a_shared_server():
    registry = JobRegistry(slots=0)
    b = bound(StudyRequest(), registry, shared=True, limit=1.0)
    assert b.refusal is None and b.new == b.total == 30 and b.seconds > 1.0
    more = bound(StudyRequest(seeds=5), registry, shared=True, limit=1.0)
    assert more.refusal and "fewer seeds per point" in more.refusal
    assert "epochs" not in more.refusal and "images" not in more.refusal  # only the page's own control


def test_what_is_trained_or_training_is_served_never_refused():
    registry = JobRegistry(slots=0)  # nothing starts: every job stays in the queue
    request = SeqRequest(TINY_SEQ, compare=True)
    first = bound(request, registry, shared=True, limit=0.0)
    assert first.refusal and first.new == 2
    assert "fewer training steps" in first.refusal and "images" not in first.refusal and "epochs" not in first.refusal
    registry.start(request.config)  # queued, as if another student had pressed Train
    half = bound(request, registry, shared=True, limit=0.0)
    assert half.new == 1 and half.seconds < first.seconds + 1e-9
    registry.start(request.other)
    joined = bound(request, registry, shared=True, limit=0.0)
    assert joined.refusal is None and joined.new == 0 and joined.seconds == 0.0
    done = JobRegistry()
    done.start(TINY_SEQ).join(120)
    assert bound(SeqRequest(TINY_SEQ), done, shared=True, limit=0.0).refusal is None  # finished: shown at once
    assert bound(SeqRequest(TINY_SEQ), done, shared=False, limit=0.0).refusal is None  # a laptop alone: no bound


def test_a_refusal_names_the_training_page_controls():
    request = TrainingRequest.from_settings([1, 2, 3], d_model=8, n_heads=2, n_layers=1)
    b = bound(request, JobRegistry(slots=0), shared=True, limit=0.0)
    assert "fewer epochs" in b.refusal and "steps" not in b.refusal


def test_two_sessions_that_differ_only_in_learning_rate_see_their_own_live_curves():
    from lab import ui

    request = TrainingRequest.from_settings([2], lr=1e-3)
    other = TrainingRequest.from_settings([2], lr=2e-2)

    def snap(req, loss):
        record = {"epoch": 1, "train_loss": loss, "train_acc": 0.5, "val_loss": loss, "val_acc": 0.5, "lr": 0.0,
                  "seconds": 1.0, "cpu_seconds": 1.0}
        return Progress(bars=[], live=req.base, live_records=[record])

    specs = []
    for req, loss in ((request, 2.0), (other, 1.0)):
        data, title = live_frame(snap(req, loss), req)
        specs.append(ui.figure(charts.live_curves, data, title=title))
    assert specs[0] != specs[1]  # the same run name at the same epoch, but each its own records
    assert "epoch 1" in str(specs[0]["title"])


def test_the_sidebar_counts_trainings_not_progress_bars():
    job = TrainingJob(TINY_SEQ)
    job.start().join(120)
    fields = progress_of({TINY_SEQ: job}, [Bar("a", 1, 1), Bar("b", 1, 1), Bar("c", 1, 1)])
    assert fields["trainings"] == 1 and fields["trainings_done"] == 1
    study = StudyRequest()
    assert len(study.trainings()) == 30  # the study's "done" line counts these, not its two bars


def test_estimates_learn_from_cpu_time_not_the_wall_clock(monkeypatch):
    seen = []
    monkeypatch.setattr(estimate, "learn", lambda config, seconds: seen.append(seconds))
    job = TrainingJob(TINY_SEQ)
    job.start().join(120)
    assert seen == [job.records[-1].cpu_seconds]  # a busy server's slow wall clock does not inflate estimates


def test_one_lock_guards_the_one_global_generator():
    import transformer.sequence as sequence
    import transformer.train as train

    assert train.seeded is sequence.seeded  # the classifier and the sequence model seed through one lock
    config, seq = TrainConfig(d_model=16, n_heads=2, n_layers=1), SeqConfig(d_model=16, n_heads=2, n_layers=1)
    want = ([p.clone() for p in build_model(config).parameters()],
            [p.clone() for p in build_sequence_model(seq).parameters()])
    results, errors = [], []

    def build(fn, cfg, slot):
        try:
            for _ in range(20):
                results.append((slot, [p.clone() for p in fn(cfg).parameters()]))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=build, args=(build_model, config, 0)),
               threading.Thread(target=build, args=(build_sequence_model, seq, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and len(results) == 40
    for slot, params in results:  # built side by side, every model still has its seed's weights
        assert all(torch.equal(a, b) for a, b in zip(params, want[slot], strict=True))


def test_the_heads_sentence_says_whether_heads_differ():
    same = spread_sentence(torch.tensor([[0.78, 1.0], [0.85, 0.96]]), chance=0.2)
    assert same.startswith("The heads do not differ here: all 4 end between 78% and 100%")
    differ = spread_sentence(torch.tensor([[0.9, 0.1], [0.2, 0.6]]), chance=0.2)
    assert differ.startswith("The heads differ: 2 of the 4 put at least 50%")
    none = spread_sentence(torch.tensor([[0.3, 0.25]]), chance=0.2)
    assert none.startswith("No head does the lookup on its own")
    assert "single head" in spread_sentence(torch.tensor([[0.9]]), chance=0.2)


def test_live_frame_keeps_the_record_columns():
    request = TrainingRequest.from_settings([1])
    data, _ = live_frame(Progress(bars=[], live=request.base, live_records=[]), request)
    assert isinstance(data, pd.DataFrame) and "val_acc" in data.columns
