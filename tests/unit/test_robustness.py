"""Page 5's measured claims: the perturbations, running trained models at another size, the attention-share
measure, the layer timings' slope, and every verdict sentence on made-up numbers."""
import pandas as pd
import pytest
import torch

from lab.analyses import claims
from transformer import robustness as R
from transformer.data import digits_split, patchify
from transformer.model import ModelConfig, PatchClassifier, SmallCNN
from transformer.timing import LayerTimes, layer_times, slope
from transformer.train import TrainConfig

IMAGES, LABELS = digits_split().x_val[:40], digits_split().y_val[:40]


@pytest.mark.parametrize("kind", list(R.STRENGTHS))
def test_strength_zero_is_the_identity_and_every_strength_stays_in_range(kind):
    strengths = R.STRENGTHS[kind]
    assert strengths[0] == 0 and len(strengths) == 5
    clean, mask = R.perturb(kind, IMAGES, LABELS, 0, seed=3)
    assert torch.equal(clean, IMAGES) and not mask.any()
    for s in strengths[1:]:
        out, mask = R.perturb(kind, IMAGES, LABELS, s, seed=3)
        assert out.shape == IMAGES.shape and float(out.min()) >= 0 and float(out.max()) <= 1
        assert mask.any() and not torch.equal(out, IMAGES)
        assert torch.equal(out[~mask], IMAGES[~mask])  # only the marked pixels changed
        again, _ = R.perturb(kind, IMAGES, LABELS, s, seed=3)
        assert torch.equal(out, again)  # seeded: both models see the same digits


def test_each_perturbation_does_what_it_says():
    g = torch.Generator().manual_seed(0)
    occluded, mask = R.occlude(IMAGES, 3, g)
    assert (mask.sum((1, 2)) == 9).all() and (occluded[mask] == 1).all()
    others = R.distractors(LABELS, IMAGES, torch.Generator().manual_seed(1))
    assert not any(torch.equal(o, x) for o, x in zip(others, IMAGES, strict=True))
    mixed, _ = R.distract(IMAGES, 0.5, others)
    assert torch.allclose(mixed, (IMAGES + 0.5 * others).clamp(0, 1))
    for bad in (lambda: R.noise(IMAGES, -0.1, g), lambda: R.occlude(IMAGES, 9, g),
                lambda: R.distract(IMAGES, 2, others), lambda: R.perturb("blur", IMAGES, LABELS, 1, 0)):
        with pytest.raises(ValueError):
            bad()


def test_shift_and_canvas_move_the_pixels():
    assert torch.equal(R.shift(IMAGES, 0, 0), IMAGES)
    right = R.shift(IMAGES, 1, 0)
    assert torch.equal(right[:, :, 1:], IMAGES[:, :, :-1]) and (right[:, :, 0] == 0).all()
    up = R.shift(IMAGES, 0, -2)
    assert torch.equal(up[:, :-2], IMAGES[:, 2:]) and (up[:, -2:] == 0).all()
    big = R.canvas(IMAGES, 12, 2, 3)
    assert big.shape == (40, 12, 12) and torch.equal(big[:, 2:10, 3:11], IMAGES) and big.sum() == IMAGES.sum()
    with pytest.raises(ValueError):
        R.canvas(IMAGES, 12, 5, 0)


def test_the_models_run_at_their_own_size_exactly_as_trained_and_at_a_larger_one():
    torch.manual_seed(0)
    cnn, vit = SmallCNN().eval(), PatchClassifier(ModelConfig()).eval()
    with torch.no_grad():
        assert torch.allclose(R.cnn_logits(cnn, IMAGES), cnn(IMAGES), atol=1e-5)
        assert torch.allclose(R.vit_logits(vit, IMAGES), vit(patchify(IMAGES, 4)), atol=1e-5)
    big = R.canvas(IMAGES, 12, 2, 2)
    assert R.cnn_logits(cnn, big).shape == R.vit_logits(vit, big).shape == (40, 10)
    table = R.interpolated_positions(vit, 3)  # (1, 1 + 9, E)
    assert table.shape == (1, 10, 32) and torch.equal(table[:, 0], vit.pos_embed[:, 0])
    grid = vit.pos_embed[0, 1:].reshape(2, 2, -1)
    assert torch.allclose(table[0, 1], grid[0, 0]) and torch.allclose(table[0, 9], grid[1, 1])  # corners kept
    assert claims.runs_as_trained(cnn, 12) and claims.runs_as_trained(vit, 12)  # neither runs unchanged
    assert claims.runs_as_trained(cnn, 8) is None and claims.runs_as_trained(vit, 8) is None


def test_the_attention_share_on_a_hand_made_case():
    attention = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], [2.0, 0.0, 0.0, 2.0]])
    changed = torch.tensor([[1.0, 0.0, 0.0, 0.0], [1.0, 0.5, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    share, area = R.attention_share(attention, changed)
    assert torch.allclose(share, torch.tensor([0.5, 0.375, 0.5]))  # the third is renormalised first
    assert torch.allclose(area, torch.tensor([0.25, 0.375, 0.25]))  # even attention: share = area
    mask = torch.zeros(1, 8, 8, dtype=torch.bool)
    mask[0, :4, :2] = True  # half of the top-left patch
    assert torch.allclose(R.patch_share(mask, 4), torch.tensor([[0.5, 0.0, 0.0, 0.0]]))


def test_trained_pairs_match_seeds_and_take_all_the_images():
    models = {TrainConfig(model=m, seed=s, train_fraction=f): f"{m}{s}{f}" for m in ("transformer", "cnn")
              for s in (0, 1) for f in (0.5, 1.0)}
    del models[TrainConfig(model="cnn", seed=1)]
    assert claims.trained_pairs(models) == {"transformer": ["transformer01.0"], "CNN": ["cnn01.0"]}
    assert claims.trained_pairs({}) == {}


def test_the_slope_of_made_up_timings_and_a_real_timing():
    sizes = (100, 200, 400, 800)
    assert slope(sizes, [n**2 * 1e-9 for n in sizes]) == pytest.approx(2)
    assert slope(sizes, [5e-6 + n * 1e-9 for n in sizes], smallest=400) < 1
    times = layer_times(sizes=(16, 32), d_model=8, n_heads=2, budget=0.001)
    assert len(times.attention) == len(times.convolution) == 2 and min(times.attention + times.convolution) > 0


# ------------------------------------------------------------------ the verdicts, every branch, on made-up numbers
def perturbed(lost: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """Two seeds of each model; (transformer, CNN) points lost at every perturbed strength of each kind."""
    rows = []
    for kind, strengths in R.STRENGTHS.items():
        for model, drop in zip(("transformer", "CNN"), lost[kind], strict=True):
            for seed in (0, 1):
                rows += [{"model": model, "kind": kind, "strength": s, "seed": seed,
                          "accuracy": 0.95 + 0.01 * seed - (drop / 100 if s else 0)} for s in strengths]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("lost, start", [
    ({"noise": (20, 10), "occlusion": (30, 25), "distractor": (15, 5)}, "**The claim fails here: the CNN"),
    ({"noise": (5, 10), "occlusion": (20, 25), "distractor": (5, 15)}, "**The claim holds here: the transformer"),
    ({"noise": (10, 10.5), "occlusion": (20, 21), "distractor": (5, 4)}, "**Neither model is more robust"),
    ({"noise": (20, 10), "occlusion": (20, 21), "distractor": (5, 4)}, "**Mixed: the CNN holds up better under some"),
    ({"noise": (20, 10), "occlusion": (10, 21), "distractor": (5, 4)}, "**Mixed: each model holds up better"),
])
def test_robustness_verdict_every_branch(lost, start):
    verdict = claims.robustness_verdict(perturbed(lost))
    assert verdict.startswith(start)
    t, c = lost["noise"]
    assert f"noise: the transformer loses {t:.1f} points on average, the CNN {c:.1f}" in verdict


def by(column: str, values, acc: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"model": m, column: v, "seed": 0, "accuracy": a} for m, accs in acc.items()
                         for v, a in zip(values, accs, strict=True)])


@pytest.mark.parametrize("acc, start", [
    ({"transformer": [0.97, 0.42, 0.11], "CNN": [0.99, 0.76, 0.20]}, "**The CNN keeps more"),
    ({"transformer": [0.97, 0.80, 0.50], "CNN": [0.99, 0.60, 0.20]}, "**The transformer keeps more"),
    ({"transformer": [0.97, 0.70, 0.50], "CNN": [0.99, 0.71, 0.20]}, "**Both models lose about the same"),
])
def test_shift_verdict_every_branch(acc, start):
    verdict = claims.shift_verdict(by("shift", claims.SHIFTS, acc))
    assert verdict.startswith(start)
    assert f"1 pixel: transformer {acc['transformer'][1]:.0%}, CNN {acc['CNN'][1]:.0%}" in verdict


@pytest.mark.parametrize("acc, start", [
    ({"transformer": [0.97, 0.08, 0.50], "CNN": [0.99, 0.84, 0.89]}, "**The claim fails here"),
    ({"transformer": [0.97, 0.90, 0.50], "CNN": [0.99, 0.84, 0.89]}, "**The claim holds here"),
    ({"transformer": [0.97, 0.84, 0.50], "CNN": [0.99, 0.85, 0.89]}, "**Neither handles"),
])
def test_size_verdict_every_branch(acc, start):
    places = ["8×8, as trained", "12×12, centred", "12×12, top-left corner"]
    verdict = claims.size_verdict(by("placement", places, acc), {"transformer": "size mismatch", "CNN": "mat1"})
    assert verdict.startswith(start) and "Neither trained model runs on a larger image as it is" in verdict
    assert f"the transformer keeps {acc['transformer'][1]:.0%} and the CNN {acc['CNN'][1]:.0%}" in verdict
    assert "As trained, the transformer fails and the CNN runs" in claims.size_verdict(
        by("placement", places, acc), {"transformer": "size mismatch", "CNN": None})


@pytest.mark.parametrize("after, start", [(0.10, "**Attention moves away"), (0.40, "**Attention does not ignore"),
                                          (0.26, "**Attention barely moves")])
def test_attention_verdict_every_branch(after, start):
    verdict = claims.attention_verdict(after, 0.25, 0.25)
    assert verdict.startswith(start) and f"{after:.0%} with the square" in verdict


@pytest.mark.parametrize("power, start", [(2, "**The table's costs show"), (1, "**The difference does not show")])
def test_cost_verdict_both_branches(power, start):
    sizes = (256, 512, 1024, 2048, 4096)
    times = LayerTimes(sizes, tuple(n**power * 1e-9 for n in sizes), tuple(n * 1e-8 for n in sizes), 64, 3)
    verdict = claims.cost_verdict(times)
    assert verdict.startswith(start) and f"n^{power:.2f}" in verdict


def values(spec: dict) -> list:
    """The rows a spec draws (Altair moves inline rows to ``datasets``)."""
    data = spec["data"]
    return data["values"] if "values" in data else spec["datasets"][data["name"]]


def test_the_charts_are_valid_vega_lite_with_what_they_show():
    from lab import charts

    table = claims.spread(perturbed({"noise": (20, 10), "occlusion": (30, 25), "distractor": (15, 5)}),
                          ["model", "kind", "strength"])
    spec = charts.robustness_chart(table, R.UNITS).to_dict()  # validated against the schema
    assert len(values(spec)) == 2 * 3 * 5 and spec["resolve"]["scale"]["x"] == "independent"
    shifts = claims.spread(by("shift", claims.SHIFTS, {"transformer": [0.9, 0.5, 0.2], "CNN": [1, 0.8, 0.3]}),
                           ["model", "shift"])
    assert len(values(charts.shift_chart(shifts).to_dict())) == 6
    spec = charts.cost_chart((64, 128), (1e-4, 4e-4), (1e-5, 2e-5), {"attention": 2.0, "convolution": 1.0})
    assert {v["layer"] for v in values(spec.to_dict())} == {"self-attention (slope 2.00)",
                                                                      "convolution (slope 1.00)"}
