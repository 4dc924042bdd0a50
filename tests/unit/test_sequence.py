"""The GPT-style sequence model: tasks, the causal block against nn.TransformerEncoderLayer, generation, training."""

import pytest
import torch

from transformer.sequence import (
    SEP,
    SeqConfig,
    answer_for,
    build_sequence_model,
    full_sequences,
    generate_answer,
    generate_steps,
    held_out,
    pattern_share,
    target_positions,
    to_torch_layer,
    train_sequence_model,
    training_batch,
)

from conftest import without_clocks

TINY = SeqConfig(length=4, d_model=16, n_heads=2, n_layers=1, steps=6, batch_size=16)


def test_the_tasks():
    digits = torch.tensor([[3, 1, 4, 1, 5]])
    assert answer_for("reverse", digits).tolist() == [[5, 1, 4, 1, 3]]
    assert answer_for("sort", digits).tolist() == [[1, 1, 3, 4, 5]]
    assert answer_for("copy", digits).tolist() == [[3, 1, 4, 1, 5]]
    assert full_sequences("reverse", digits).tolist() == [[3, 1, 4, 1, 5, SEP, 5, 1, 4, 1, 3]]


def test_held_out_prompts_are_never_trained_on():
    config = SeqConfig(length=3, batch_size=512)
    evaluation = held_out(config)
    assert len(evaluation) == 500  # half of the 1,000 three-digit strings; 1,000 from four digits on
    assert len(held_out(SeqConfig(length=6))) == 1000
    assert len({tuple(r) for r in evaluation.tolist()}) == len(evaluation)
    codes = {tuple(r) for r in evaluation.tolist()}
    g = torch.Generator().manual_seed(0)
    from transformer.sequence import _codes

    for _ in range(5):
        batch = training_batch(config, g, _codes(evaluation))
        assert not codes & {tuple(r) for r in batch.tolist()}


@pytest.mark.parametrize("kwargs,match", [
    (dict(task="add"), "task must be one of"), (dict(length=2), "length must be"), (dict(length=13), "length"),
    (dict(d_model=30, n_heads=4), "4 heads cannot split"), (dict(steps=0), "steps must be at least 1"),
    (dict(lr=0), "learning rate"), (dict(seed=-1), "seed"), (dict(positions="yes"), "positions"),
])
def test_bad_config_is_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SeqConfig(**kwargs)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_causal_block_equals_torch_transformer_encoder_layer(seed):
    model = build_sequence_model(SeqConfig(d_model=32, n_heads=4, seed=seed))
    torch.manual_seed(seed)
    for block in model.blocks:
        with torch.no_grad():  # non-trivial norms and biases, so every weight is compared
            for p in block.parameters():
                p.add_(0.1 * torch.randn_like(p))
        layer = to_torch_layer(block)
        x = torch.randn(3, 9, 32)
        mask = torch.nn.Transformer.generate_square_subsequent_mask(9)
        with torch.no_grad():
            ours = block(x, causal=True)
            theirs = layer(x, src_mask=mask, is_causal=True)
            explicit = block.attn.fused = False  # noqa: F841  (the einsum path too)
            ours_explicit = block(x, causal=True)
            block.attn.fused = True
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ours_explicit, theirs, atol=1e-5, rtol=1e-5)
        # without the mask they differ: the check really tests the causal mask
        assert (layer(x) - ours).abs().max() > 1e-3


def test_the_model_is_causal():
    model = build_sequence_model(TINY).eval()
    seq = full_sequences("reverse", torch.tensor([[1, 2, 3, 4]]))[:, :-1]
    changed = seq.clone()
    changed[0, -1] = 7
    with torch.no_grad():
        a, b = model(seq), model(changed)
    torch.testing.assert_close(a[:, :-1], b[:, :-1])  # earlier positions never see a later token
    _, maps = model.attention_maps(seq)
    assert torch.equal(maps.triu(1), torch.zeros_like(maps))


def test_generation_and_its_attention_rows():
    model = build_sequence_model(TINY)
    answer = generate_answer(model, [1, 2, 3, 4])
    assert len(answer) == 4 and all(0 <= t <= SEP for t in answer)
    steps = generate_steps(model, [1, 2, 3, 4])
    assert steps.answer == answer and steps.prompt == [1, 2, 3, 4, SEP]
    assert steps.attention.shape == (4, 1, 2, 8)  # (answer tokens, layers, heads, keys)
    for i in range(4):  # the token written i-th looks only at the prompt, the separator and i earlier answers
        row = steps.attention[i]
        torch.testing.assert_close(row.sum(-1), torch.ones(1, 2))
        assert torch.equal(row[..., 5 + i:], torch.zeros_like(row[..., 5 + i:]))


@pytest.mark.parametrize("digits,match", [([], "at least one digit"), ([1, 2, 3, 10], "Only the digits"),
                                          ([1, 2, 3], "trained on 4 digits")])
def test_generation_rejects_bad_input(digits, match):
    with pytest.raises(ValueError, match=match):
        generate_answer(build_sequence_model(TINY), digits)


def test_target_positions():
    digits = torch.tensor([[3, 1, 4, 1]])
    rev = target_positions("reverse", digits)[0]
    assert rev[0].tolist() == [False, False, False, True]  # the first answer token is the last digit
    srt = target_positions("sort", digits)[0]
    assert srt[0].tolist() == [False, True, False, True]  # writing a 1: both positions that hold a 1



def test_training_is_deterministic_and_keeps_snapshots():
    a, b = without_clocks(train_sequence_model(TINY)), without_clocks(train_sequence_model(TINY))
    assert [r.as_dict() for r in a] == [r.as_dict() for r in b]
    assert all(torch.equal(x.attention, y.attention) for x, y in zip(a, b, strict=True))
    assert a[0].step == 0 and a[-1].step == TINY.steps and len(a) == TINY.steps + 1  # one record a step here
    assert a[0].attention.shape == (1, 2, 8, 8) and a[0].share.shape == (1, 2)
    long = SeqConfig(length=4, d_model=16, n_heads=2, n_layers=1, steps=60, batch_size=16)
    assert sum(1 for _ in train_sequence_model(long)) >= 13  # a dozen or more snapshots, step 0 included


def test_reverse_is_learned_and_its_head_looks_at_the_mirror():
    """A small model learns to reverse 4 digits; one head then puts most of its attention on the mirrored digit."""
    config = SeqConfig(length=4, d_model=32, n_heads=2, n_layers=2, steps=300, batch_size=64, lr=5e-3)
    model = build_sequence_model(config)
    last = list(train_sequence_model(config, model))[-1]
    assert last.exact_match > 0.9
    share = pattern_share(model, held_out(config)[:100])
    assert share.max() > 0.5 and torch.allclose(share, last.share)


def test_exact_match_equals_greedy_generation():
    """evaluate_sequences reads exact-match off one teacher-forced pass; it must equal real generation."""
    from transformer.sequence import evaluate_sequences

    config = SeqConfig(length=4, d_model=32, n_heads=2, n_layers=2, steps=120, batch_size=64, lr=5e-3)
    model = build_sequence_model(config)
    list(train_sequence_model(config, model))  # part-trained: some answers right, some wrong
    prompts = held_out(config)[:300]
    _, _, exact = evaluate_sequences(model, prompts)
    generated = [generate_answer(model, p) for p in prompts.tolist()]
    target = [full_sequences(config.task, p[None])[0, 5:].tolist() for p in prompts]
    by_generation = sum(g == t for g, t in zip(generated, target, strict=True)) / len(prompts)
    assert 0 < by_generation < 1 or exact in (0.0, 1.0)
    assert exact == pytest.approx(by_generation)
