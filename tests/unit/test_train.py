
import pytest
import torch
import torch.nn.functional as F

from transformer.train import RECORD_FIELDS, TrainConfig, build_model, lr_at, train_classifier, training_data

from conftest import without_clocks

SMALL = TrainConfig(epochs=3, d_model=16, n_heads=2, n_layers=1)



def test_records_have_all_fields_and_sane_values():
    records = list(train_classifier(SMALL))
    assert [r.epoch for r in records] == [1, 2, 3]
    assert set(RECORD_FIELDS) >= {"epoch", "train_loss", "train_acc", "val_loss", "val_acc"}
    for r in records:
        assert 0 <= r.train_acc <= 1 and 0 <= r.val_acc <= 1 and r.train_loss > 0 and r.val_loss > 0
    assert records[-1].train_loss < records[0].train_loss


def test_same_config_same_records():
    assert without_clocks(train_classifier(SMALL)) == without_clocks(train_classifier(SMALL))
    assert without_clocks(train_classifier(SMALL)) != without_clocks(train_classifier(SMALL.replace(seed=1)))


def test_fused_and_explicit_training_agree():
    fused = list(train_classifier(SMALL.replace(epochs=2)))
    explicit = list(train_classifier(SMALL.replace(epochs=2, fused=False)))
    for a, b in zip(fused, explicit, strict=True):
        assert abs(a.val_loss - b.val_loss) < 1e-3 and abs(a.train_loss - b.train_loss) < 1e-3


def test_constant_schedule_short_run_is_a_prefix_of_the_long_one():
    short = without_clocks(train_classifier(SMALL.replace(epochs=2)))
    long = without_clocks(train_classifier(SMALL.replace(epochs=4)))
    assert short == long[:2]
    cos_short = without_clocks(train_classifier(SMALL.replace(epochs=2, schedule="cosine")))
    assert cos_short != without_clocks(train_classifier(SMALL.replace(epochs=4, schedule="cosine")))[:2]


def test_cosine_schedule_decays_to_zero():
    c = TrainConfig(schedule="cosine", lr=0.01)
    assert lr_at(c, 0, 100) == pytest.approx(0.01)
    assert lr_at(c, 50, 100) == pytest.approx(0.005)
    assert lr_at(c, 100, 100) == pytest.approx(0.0, abs=1e-12)


def overfit(config: TrainConfig, steps: int) -> None:
    """Train ``config``'s model on 16 images only: it must learn them by heart."""
    model = build_model(config)
    x, y, _, _ = training_data(config)
    x, y = x[:16], y[:16]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    assert (model(x).argmax(-1) == y).all()


def test_tiny_model_overfits_a_tiny_batch():
    overfit(SMALL, 150)


def test_train_fraction_uses_fewer_images():
    x, y, xv, _ = training_data(SMALL.replace(train_fraction=0.1))
    assert len(y) == 144 and len(xv) == 359


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(epochs=0), "epochs must be at least 1"),
        (dict(lr=0), "learning rate"),
        (dict(schedule="step"), "schedule"),
        (dict(d_model=30), "heads cannot split"),
        (dict(batch_size=-4), "batch_size"),
        (dict(train_fraction=0), "train_fraction"),
        (dict(seed=-1), "seed"),
    ],
)
def test_bad_config(kw, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kw)


CNN = TrainConfig(epochs=2, model="cnn")


def test_cnn_baseline_is_deterministic_and_comparable():
    from transformer.model import SmallCNN, count_parameters

    assert without_clocks(train_classifier(CNN)) == without_clocks(train_classifier(CNN))
    cnn, vit = build_model(TrainConfig(model="cnn")), build_model(TrainConfig())
    assert isinstance(cnn, SmallCNN)
    assert count_parameters(cnn) <= count_parameters(vit)  # as large as the transformer or smaller
    assert count_parameters(cnn) == 10_026  # 160 + 4,640 in the convolutions, 96 in the norms, 5,130 in the read-out
    # it keeps the spatial layout: the read-out sees every (channel, row, column) of the pooled map
    assert cnn.features(torch.zeros(1, 1, 8, 8)).shape == (1, 32 * 4 * 4)
    x, y, xv, yv = training_data(CNN)
    assert x.shape[1:] == (8, 8) and len(xv) == 359  # whole images, the same split


def test_tiny_cnn_overfits_a_tiny_batch():
    overfit(CNN, 200)


def test_unknown_model_is_rejected():
    with pytest.raises(ValueError, match="model must be"):
        TrainConfig(model="rnn")


def test_analysis_of_a_trained_model():
    from transformer.analysis import class_token_attention, confusion_matrix, predict

    config = SMALL.replace(epochs=2)
    model = build_model(config)
    records = list(train_classifier(config, model))
    p = predict(model, config)
    assert p.probs.shape == (359, 10)
    torch.testing.assert_close(p.probs.sum(-1), torch.ones(359))
    accuracy = (p.preds == p.labels).float().mean().item()
    assert accuracy == pytest.approx(records[-1].val_acc)
    cm = confusion_matrix(p.preds, p.labels)
    assert cm.sum() == 359 and cm.trace() == (p.preds == p.labels).sum()
    assert cm[3].sum() == (p.labels == 3).sum()  # a row holds every digit of its class
    assert len(p.wrong) == 359 - cm.trace()
    att = class_token_attention(model, config, 0)
    assert att.shape == (1, 2, 2, 2)  # (layers, heads, grid, grid) for 4x4 patches on 8x8
    assert (att.sum((-1, -2)) <= 1 + 1e-6).all() and (att >= 0).all()
    with pytest.raises(ValueError, match="index"):
        class_token_attention(model, config, 359)


def test_attention_rollout_on_a_hand_made_case():
    """Two layers, two tokens, one head each. Layer 1: every token looks only at token 1; layer 2: token 0 looks at
    itself, token 1 at token 0. With the residual, Â1 = [[.5, .5], [0, 1]] and Â2 = [[1, 0], [.5, .5]], so the
    rollout Â2 Â1 = [[.5, .5], [.25, .75]]."""
    from transformer.analysis import attention_rollout

    first = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    second = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    rolled = attention_rollout(torch.stack([first[None], second[None]]))  # (layers, heads, T, T)
    torch.testing.assert_close(rolled, torch.tensor([[0.5, 0.5], [0.25, 0.75]]))
    torch.testing.assert_close(rolled.sum(-1), torch.ones(2))  # rows still sum to 1
    two_heads = torch.stack([torch.stack([first, first]), torch.stack([second, torch.eye(2)])])
    # averaging the heads first: layer 2 becomes [[1, 0], [.5, .5]], so its Â is [[1, 0], [.25, .75]]
    torch.testing.assert_close(attention_rollout(two_heads), torch.tensor([[0.5, 0.5], [0.125, 0.875]]))
    with pytest.raises(ValueError, match="layers, heads, T, T"):
        attention_rollout(first)


def test_rollout_of_a_trained_model():
    from transformer.analysis import class_token_rollout

    config = SMALL.replace(epochs=1)
    model = build_model(config)
    list(train_classifier(config, model))
    rolled, raw = class_token_rollout(model, config, 0)
    g = 8 // config.patch_size
    assert rolled.shape == raw.shape == (g, g)
    assert 0 < float(rolled.sum()) < 1 and 0 <= float(raw.sum()) <= 1  # the rest stays with the class token
