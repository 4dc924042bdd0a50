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
    from transformer.receptive import receptive_field, receptive_fields

    assert receptive_fields("conv", 64, 5, kernel=3) == [3, 5, 7, 9, 11]  # 1 + layers * (k - 1)
    assert receptive_fields("conv", 64, 2, kernel=5) == [5, 9]
    assert receptive_fields("conv", 8, 6, kernel=3) == [3, 5, 7, 8, 8, 8]  # capped by the sequence
    assert receptive_fields("attention", 64, 3) == [64, 64, 64]  # one layer sees every token
    assert receptive_field("conv", 9, 1, kernel=9) == 9
    with pytest.raises(ValueError, match="odd"):
        receptive_field("conv", 8, 1, kernel=4)
    with pytest.raises(ValueError, match="kind"):
        receptive_field("rnn", 8, 1)
