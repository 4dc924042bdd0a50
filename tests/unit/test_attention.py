import math

import pytest
import torch
import torch.nn.functional as F

from transformer.attention import self_attention_steps, softmax_peak


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("n,d_model,d_k", [(1, 1, 1), (6, 16, 8), (5, 12, 12), (33, 8, 4)])
@pytest.mark.parametrize("causal", [False, True])
def test_matches_scaled_dot_product_attention(n, d_model, d_k, causal):
    x, wq, wk, wv = rand(n, d_model), rand(d_model, d_k, seed=1), rand(d_model, d_k, seed=2), rand(d_model, d_k, seed=3)
    s = self_attention_steps(x, wq, wk, wv, causal=causal)
    ref = F.scaled_dot_product_attention(x @ wq, x @ wk, x @ wv, is_causal=causal)
    torch.testing.assert_close(s.output, ref)
    assert s.scores.shape == s.weights.shape == (n, n)
    torch.testing.assert_close(s.scaled, s.scores / math.sqrt(d_k))
    torch.testing.assert_close(s.weights.sum(-1), torch.ones(n, dtype=torch.float64))


def test_causal_weights_above_diagonal_are_exactly_zero():
    s = self_attention_steps(rand(7, 4), rand(4, 4, seed=1), rand(4, 4, seed=2), rand(4, 4, seed=3), causal=True)
    assert torch.equal(s.weights.triu(1), torch.zeros(7, 7, dtype=torch.float64))
    assert s.weights[0, 0] == 1.0  # the first token can only look at itself


def test_step_four_and_five_sum_to_the_output_row():
    s = self_attention_steps(rand(5, 6), rand(6, 3, seed=1), rand(6, 3, seed=2), rand(6, 4, seed=3))
    for i in range(5):
        torch.testing.assert_close(s.weighted_values(i).sum(0), s.output[i])
    assert s.output.shape == (5, 4)  # d_v may differ from d_k


def test_scaling_off_uses_raw_scores():
    s = self_attention_steps(rand(4, 8), rand(8, 8, seed=1), rand(8, 8, seed=2), rand(8, 8, seed=3), scale=False)
    torch.testing.assert_close(s.weights, s.scores.softmax(-1))


def test_unscaled_softmax_saturates_as_d_k_grows():
    assert softmax_peak(512, scale=False) > 0.9
    assert softmax_peak(512, scale=True) < 0.5
    assert abs(softmax_peak(4, scale=True) - softmax_peak(512, scale=True)) < 0.1


@pytest.mark.parametrize(
    "x,wq,wk,wv,match",
    [
        (torch.randn(5), torch.randn(5, 2), torch.randn(5, 2), torch.randn(5, 2), "x must have 2 dimensions"),
        (torch.randn(3, 5), torch.randn(4, 2), torch.randn(4, 2), torch.randn(4, 2), "w_q has 4 rows"),
        (torch.randn(3, 5), torch.randn(5, 2), torch.randn(5, 3), torch.randn(5, 2), "same shape"),
        (torch.randn(0, 5), torch.randn(5, 2), torch.randn(5, 2), torch.randn(5, 2), "empty"),
        (torch.ones(3, 5, dtype=torch.long), torch.randn(5, 2), torch.randn(5, 2), torch.randn(5, 2), "floating"),
    ],
)
def test_bad_input(x, wq, wk, wv, match):
    with pytest.raises(ValueError, match=match):
        self_attention_steps(x, wq, wk, wv)


def test_receptive_field_measured_by_gradients():
    from transformer.receptive import receptive_fields

    assert receptive_fields("conv", 64, 5, kernel=3) == [3, 5, 7, 9, 11]  # 1 + layers * (k - 1)
    assert receptive_fields("conv", 64, 2, kernel=5) == [5, 9]
    assert receptive_fields("conv", 8, 6, kernel=3) == [3, 5, 7, 8, 8, 8]  # capped by the sequence
    assert receptive_fields("attention", 64, 3) == [64, 64, 64]  # one layer sees every token
    assert receptive_fields("conv", 9, 1, kernel=9) == [9]
    with pytest.raises(ValueError, match="odd"):
        receptive_fields("conv", 8, 1, kernel=4)
    with pytest.raises(ValueError, match="kind"):
        receptive_fields("rnn", 8, 1)


# ---------------------------------------------------------------- issue 14: one weight explained, positions, claims
def sentence_steps(causal=False, scale=True, positions=False):
    from transformer.text import embed, projections, sinusoidal_positions

    tokens = "the cat sat on the mat".split()
    x = embed(tokens, 8, 0) + (sinusoidal_positions(6, 8) if positions else 0)
    return self_attention_steps(x, *projections(8, 4, 0), causal=causal, scale=scale)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("scale", [False, True])
def test_every_number_of_a_weight_derivation_matches_the_steps(causal, scale):
    from transformer.attention import explain_weight

    steps = sentence_steps(causal, scale)
    for i in range(6):
        for j in range(6):
            d = explain_weight(steps, i, j)
            torch.testing.assert_close(d.q, steps.q[i])
            torch.testing.assert_close(d.k, steps.k[j])
            assert d.score == pytest.approx(float(steps.scores[i, j]), abs=1e-5)  # step 2's bar
            assert d.scaled == pytest.approx(float(steps.scaled[i, j]), abs=1e-5)  # step 3's first bar
            assert d.weight == pytest.approx(float(steps.weights[i, j]), abs=1e-6)  # the heatmap's cell
            assert d.masked == (causal and j > i)
            if d.masked:
                assert d.weight == 0.0 and float(d.row_exps[j]) == 0.0
            torch.testing.assert_close(d.row_exps / d.exp_sum, steps.weights[i])  # the whole row, written out
    with pytest.raises(ValueError, match="token positions"):
        explain_weight(steps, 6, 0)


def test_sinusoidal_positions():
    from transformer.text import sinusoidal_positions

    pe = sinusoidal_positions(5, 8)
    assert pe.shape == (5, 8)
    torch.testing.assert_close(pe[0], torch.tensor([0.0, 1.0] * 4))  # sin 0, cos 0
    assert float(pe[3, 0]) == pytest.approx(math.sin(3)) and float(pe[3, 3]) == pytest.approx(math.cos(3 / 10))
    assert sinusoidal_positions(3, 7).shape == (3, 7)  # an odd size too


def test_permutation_equivariance_measured():
    from transformer.attention import permutation_gap
    from transformer.text import embed, projections, sinusoidal_positions

    x = embed("the cat sat on the mat".split(), 8, 0)
    w = projections(8, 4, 0)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    assert permutation_gap(x, *w, perm) < 1e-6
    assert permutation_gap(x, *w, perm, positions=sinusoidal_positions(6, 8)) > 1e-2


def test_the_self_attention_claim_measured():
    from transformer.attention import self_peak_share
    from transformer.text import embed

    def x_for(seed):
        return embed("a b c d e f g h".split(), 16, seed)

    plain, tied, rows = self_peak_share(x_for, 16, 16, seeds=100)
    assert rows == 800
    assert abs(plain - 1 / 8) < 0.08  # independent W_Q, W_K: about chance
    assert tied > 3 * plain  # W_Q = W_K makes q_i . k_i a squared length: the token itself usually wins
