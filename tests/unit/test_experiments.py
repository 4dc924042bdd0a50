"""Issue 42's plain parts: pins as URL text and back, labelled by what differs, compared in a sentence built from
their numbers; the take-home script, run in a subprocess, reproduces the app's records."""
import json
import subprocess
import sys

import numpy as np
import pytest

from lab.analyses import classifier_runs, comparison, sequence_runs, takeaway
from lab.analyses.classifier_runs import PINS, TrainingRequest
from lab.server.jobs import TrainingJob
from transformer.sequence import SeqConfig

from conftest import ROOT


def pin(**changes) -> dict:
    return {**PINS.defaults, **changes}


def test_pins_go_into_the_link_and_come_back():
    pins = [pin(), pin(lr=0.003, d_model=64), pin(seed=1, fraction=0.1)]
    text = comparison.encode(PINS, pins)
    assert text == "-|lr:0.003,d_model:64|fraction:0.1,seed:1"
    assert comparison.decode(PINS, text) == pins


@pytest.mark.parametrize("text,why", [
    ("lr:0.7", "is not one of the choices"), ("epochs:0", "outside 1..100"), ("colour:red", "not a setting"),
    ("-|-|-|-|-", "at most 4"), ("lr", "not a setting"),
])
def test_a_link_with_pins_the_page_cannot_train_is_refused_in_words(text, why):
    with pytest.raises(ValueError, match=why):
        comparison.decode(PINS, text)


def test_pins_are_named_by_what_differs():
    assert comparison.labels(PINS, [pin(d_model=32), pin(d_model=64)]) == ["d_model 32", "d_model 64"]
    assert comparison.labels(PINS, [pin(lr=0.003), pin(lr=0.001, seed=2)]) == ["lr 0.003, seed 0", "lr 0.001, seed 2"]
    assert comparison.labels(PINS, [pin(), pin()]) == ["run 1", "run 2"]


def test_the_sentence_names_the_better_run_and_changes_when_they_swap():
    names = ["lr 0.005", "lr 0.05"]
    one = comparison.sentence(PINS, names, [0.96, 0.80], None, "")
    two = comparison.sentence(PINS, names, [0.80, 0.96], None, "")
    assert one.startswith("**lr 0.005** ends with the highest validation accuracy, 96.0%: 16.0 points above "
                          "**lr 0.05**")
    assert two.startswith("**lr 0.05** ends") and one != two
    assert "one seed" in one  # no yardstick: says the gap may be chance
    assert "more than the 2.0 points" in comparison.sentence(PINS, names, [0.96, 0.80], 0.02, "the study")
    assert "not told apart" in comparison.sentence(PINS, names, [0.96, 0.95], 0.02, "the study")


def test_the_seed_spread_comes_from_pins_that_differ_only_in_their_seed():
    pins = [pin(), pin(seed=1), pin(lr=0.003)]
    assert comparison.seed_spread(pins, [0.95, 0.97, 0.90]) == pytest.approx(0.02)
    assert comparison.seed_spread(pins[::2], [0.95, 0.90]) is None


def test_a_pin_trains_the_run_it_came_from():
    request = TrainingRequest.from_settings((10, 30, 50), lr=0.003, d_model=64)
    assert classifier_runs.pin_config(classifier_runs.pin_of(request)) == request.configs[50]
    seq = sequence_runs.request_from({"task": "sort", "length": 5, "steps": 200, "d_model": 32, "n_heads": 2,
                                      "n_layers": 1, "seed": 3, "positions": False, "compare": True})
    assert sequence_runs.pin_config(sequence_runs.pin_of(seq)) == seq.config


def trained(config) -> list[dict]:
    """The records as the app trains them: through a training job."""
    job = TrainingJob(config)
    job.start().join()
    return [r.as_dict() for r in job.records]


def test_the_take_home_script_reproduces_the_records():
    request = TrainingRequest.from_settings((1, 2), train_fraction=0.05, n_layers=1)
    page6 = sequence_runs.request_from({"task": "reverse", "length": 3, "steps": 50, "d_model": 16, "n_heads": 2,
                                        "n_layers": 1, "seed": 1, "positions": True, "compare": False})
    page6 = type(page6)(SeqConfig(**{**page6.config.__dict__, "steps": 2}), False)  # 2 steps: this is about code
    both = (takeaway.classifier_runs(request), takeaway.sequence_runs(page6))
    scripts = [takeaway.script(runs, "a test", "a page") for runs in both]
    # the two downloaded files run one after the other in one Python process (one torch import, not two)
    out = subprocess.run([sys.executable, "-c", "import sys\nfor s in sys.argv[1:]:\n    exec(s, {})", *scripts],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    printed = [json.loads(line) for line in out.stdout.splitlines()]
    expected = [{"run": name, **r} for runs in both for name, config in runs.items() for r in trained(config)]
    assert [p["run"] for p in printed] == [e["run"] for e in expected]
    for got, want in zip(printed, expected, strict=True):
        for key, value in takeaway.without_clocks(want).items():
            assert got[key] == pytest.approx(value, abs=1e-6), key


def test_no_typed_text_reaches_the_script():
    with pytest.raises(ValueError):
        takeaway.literal("x'); import os; os.system('rm -rf /') #")
    with pytest.raises(ValueError):
        takeaway.literal(float("nan"))
    with pytest.raises(ValueError):
        takeaway.script({"run'); import os; #": TrainingRequest.from_settings((1,)).base}, "t", "p")


def test_the_records_as_csv():
    text = takeaway.records_csv({"2 epochs": [{"epoch": 1, "val_acc": 0.5}, {"epoch": 2, "val_acc": 0.75}]})
    assert text.splitlines() == ["run,epoch,val_acc", "2 epochs,1,0.5", "2 epochs,2,0.75"]


# ------------------------------------------------------------------ draw a digit
def test_a_drawing_is_checked_and_centred_like_the_training_digits():
    from lab.analyses import drawing

    cells = np.zeros((8, 8))
    cells[0:3, 0] = 1.0  # a short stroke in the top left corner
    out = drawing.centred(cells)
    rows, cols = np.nonzero(out)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (2, 4, 3, 3) and out.sum() == 3
    assert drawing.inked(cells) == 3 and drawing.inked(np.zeros((8, 8))) == 0
    for bad, why in ((np.zeros((7, 8)), "8 x 8"), (np.full((8, 8), 2.0), "between 0 and 1"),
                     (np.full((8, 8), np.nan), "between 0 and 1")):
        with pytest.raises(ValueError, match=why):
            drawing.checked(bad)
    assert drawing.tapped(np.zeros((8, 8)), 2, 5, "half ink")[2][5] == 0.5
    assert drawing.tapped(np.ones((8, 8)), 2, 5, "eraser")[2][5] == 0.0


def test_the_drawing_is_read_by_the_model_on_the_same_tensor():
    import torch

    from transformer.analysis import read_image
    from transformer.data import digits_split, patchify
    from transformer.train import TrainConfig, train_classifier

    config = TrainConfig(epochs=1, train_fraction=0.1, n_layers=1)
    model = config.build()
    for _ in train_classifier(config, model):
        pass
    image = digits_split().x_val[0]
    got = read_image(model, config, image)
    model.eval()
    with torch.no_grad():
        want = model(patchify(image[None], config.patch_size))[0].softmax(-1)
    assert torch.allclose(got.probs, want, atol=1e-6) and got.pred == int(want.argmax())
    assert got.attention.shape == (1, config.n_heads, 2, 2) and got.rollout.shape == (2, 2)
    with pytest.raises(ValueError, match="between 0 and 1"):
        read_image(model, config, image * 3)
