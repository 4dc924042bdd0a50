"""The induction task: its generator, the prefix-matching score, training through its own config, and ablation."""
import pytest
import torch

from transformer import induction
from transformer.ablation import heads_removed
from transformer.induction import InductionConfig
from transformer.sequence import SeqConfig, build_sequence_model


def test_every_sequence_holds_its_repeat_and_no_fixed_offset_solves_it():
    batch = induction.generate(2000, torch.Generator().manual_seed(1))
    for row, a, b, r in zip(batch.tokens, batch.first, batch.second, batch.run, strict=True):
        assert torch.equal(row[b:b + r], row[a:a + r]) and b >= a + r and b + r <= induction.LENGTH
    assert int(batch.run.min()) == induction.RUNS[0] and int(batch.run.max()) == induction.RUNS[1]
    assert batch.counted.sum(1).tolist() == (batch.run - 1).tolist()  # the repeat's second to last token
    target = batch.tokens[:, 1:]
    for k in range(1, induction.LENGTH - 1):  # "copy the token k places back": right on few repeated tokens
        guess = torch.roll(batch.tokens, k, dims=1)[:, 1:]
        assert (guess == target)[batch.counted].float().mean() < 0.5, k


def test_prefix_matching_on_a_hand_built_pattern():
    tokens = torch.tensor([[5, 6, 7, 8, 5, 6, 7, 9]])  # 5 6 7 repeated; 8 and 9 differ
    t = tokens.shape[1]
    perfect = torch.zeros(1, 1, 2, t, t)
    perfect[0, 0, 0, 0, 0] = 1.0
    for p in range(1, t):
        perfect[0, 0, 0, p, p - 1] = 1.0  # head 0: the previous token
    perfect[0, 0, 1] = torch.eye(t)  # head 1: itself, except inside the repeat
    perfect[0, 0, 1, 5] = torch.eye(t)[2]  # '6' at 5: after its earlier occurrence (1) comes position 2
    perfect[0, 0, 1, 6] = torch.eye(t)[3]  # '7' at 6: after its earlier occurrence (2) comes position 3
    score = induction.prefix_matching(perfect, tokens)
    assert score.tolist() == [[0.0, 1.0]]  # positions 5 and 6 are inside the repeat (4, the run's start, is not)
    assert induction.previous_token(perfect)[0, 0] == 1.0 and induction.previous_token(perfect)[0, 1] == 0.0
    assert induction.earlier_occurrence(tokens).tolist() == [[-1, -1, -1, -1, 0, 1, 2, -1]]


def test_induction_trains_through_its_own_config():
    config = InductionConfig(d_model=16, n_heads=2, n_layers=2, steps=10, batch_size=16)
    assert (InductionConfig().steps, InductionConfig().lr) == (600, 1e-2)  # its own defaults, not the digit tasks'
    assert (SeqConfig().steps, SeqConfig().lr) == (300, 5e-3)
    with pytest.raises(ValueError, match="task must be one of reverse, sort, copy"):
        SeqConfig(task="induction")
    model = config.build()
    records = list(config.train(model))
    assert [r.step for r in records][0] == 0 and records[-1].step == 10
    last = records[-1]
    assert 0 <= last.token_acc <= 1 and 0 <= last.exact_match <= 1 and last.share.shape == (2, 2)
    assert last.attention.shape == (2, 2, induction.LENGTH - 1, induction.LENGTH - 1)
    assert induction.prefix_matching_score(model, induction.held_out().tokens[:8, :-1]).shape == (2, 2)


def test_ablation_on_a_sequence_model():
    model = build_sequence_model(SeqConfig(d_model=16, n_heads=2, n_layers=1)).eval()
    idx = torch.randint(0, 10, (2, 12))
    whole = model(idx)
    with heads_removed(model, []):
        assert torch.equal(model(idx), whole)
    with heads_removed(model, [(0, 0), (0, 1)]):
        assert not torch.allclose(model(idx), whole)
