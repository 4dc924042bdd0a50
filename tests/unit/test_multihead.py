import pytest
import torch
import torch.nn.functional as F
from torch import nn

from transformer.multihead import check_against_torch, check_heads, head_counts, multi_head_attention


def weights(E, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(E, E, generator=g) / E**0.5 for _ in range(3)]


def test_coursework_q31_shapes():
    tokens = torch.randn(1, 5, 768)
    r = multi_head_attention(tokens, *weights(768, 0), n_heads=12)
    assert r.qis.shape == (1, 5, 768)
    assert r.qis_mh.shape == r.kis_mh.shape == r.vis_mh.shape == (1, 5, 12, 64)
    assert r.scoremat_mh.shape == r.attmat_mh.shape == (1, 12, 5, 5)
    assert r.zis_mh.shape == (1, 5, 12, 64)
    assert r.zis.shape == (1, 5, 768)


CASES = [(1, 1, 4, 1), (1, 5, 768, 12), (3, 7, 24, 6), (2, 1, 8, 8), (4, 16, 64, 4), (2, 9, 30, 5)]


@pytest.mark.parametrize("B,T,E,H", CASES)
@pytest.mark.parametrize("causal", [False, True])
def test_against_torch_multihead_attention(B, T, E, H, causal):
    tokens = torch.randn(B, T, E, generator=torch.Generator().manual_seed(T + E))
    wq, wk, wv = weights(E, E + H)
    ours = multi_head_attention(tokens, wq, wk, wv, H, causal=causal)

    mha = nn.MultiheadAttention(E, H, bias=False, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([wq, wk, wv], dim=1).T)
    mask = torch.ones(T, T, dtype=torch.bool).triu(1) if causal else None
    out, att = mha(tokens, tokens, tokens, attn_mask=mask, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(ours.attmat_mh, att, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(mha.out_proj(ours.zis), out, atol=1e-5, rtol=1e-4)
    # the package's own check (what page 3 shows) agrees with this hand-built one
    check = check_against_torch(tokens, wq, wk, wv, mha.out_proj.weight.detach().T, H, causal=causal)
    assert check.weights_diff < 1e-5 and check.output_diff < 1e-5
    torch.testing.assert_close(check.output, out)
    torch.testing.assert_close(check.out, check.steps.zis @ mha.out_proj.weight.detach().T)  # ours, projected
    assert check.steps.zis.shape == tokens.shape



def test_the_check_sees_a_wrong_attention(monkeypatch):
    """Page 3's check is not vacuous: an implementation whose weights are off (here the softmax taken over the wrong
    axis, a common slip) is reported as different from nn.MultiheadAttention."""
    import dataclasses

    import transformer.multihead as mh

    right = mh.multi_head_attention

    def wrong(*args, **kwargs):
        r = right(*args, **kwargs)
        return dataclasses.replace(r, attmat_mh=(r.scoremat_mh / 8**0.5).softmax(dim=-2))  # over queries

    monkeypatch.setattr(mh, "multi_head_attention", wrong)
    tokens = torch.randn(2, 6, 32, generator=torch.Generator().manual_seed(0))
    wq, wk, wv = weights(32, 3)
    check = check_against_torch(tokens, wq, wk, wv, torch.eye(32), 4)
    assert check.weights_diff > 1e-2


@pytest.mark.parametrize("B,T,E,H", CASES)
@pytest.mark.parametrize("causal", [False, True])
def test_against_scaled_dot_product_attention(B, T, E, H, causal):
    tokens = torch.randn(B, T, E, generator=torch.Generator().manual_seed(1))
    r = multi_head_attention(tokens, *weights(E, 2), n_heads=H, causal=causal)
    def to_heads(t):
        return t.transpose(1, 2)  # (B, T, H, D) -> (B, H, T, D)

    ref = F.scaled_dot_product_attention(to_heads(r.qis_mh), to_heads(r.kis_mh), to_heads(r.vis_mh), is_causal=causal)
    torch.testing.assert_close(r.zis_mh, ref.transpose(1, 2), atol=1e-5, rtol=1e-4)


def test_causal_mask_zeroes_the_future():
    r = multi_head_attention(torch.randn(2, 6, 8), *weights(8, 0), n_heads=2, causal=True)
    assert torch.equal(r.attmat_mh.triu(1), torch.zeros_like(r.attmat_mh))


def test_heads_that_do_not_divide():
    with pytest.raises(ValueError, match=r"5 heads cannot split an embedding of size 768.*1, 2, 3, 4, 6, 8, 12, 16"):
        multi_head_attention(torch.randn(1, 5, 768), *weights(768, 0), n_heads=5)
    assert head_counts(12) == [1, 2, 3, 4, 6, 12]
    assert check_heads(768, 12) == 64


@pytest.mark.parametrize(
    "tokens,w,heads,match",
    [
        (torch.randn(5, 8), torch.randn(8, 8), 2, "tokens must have 3 dimensions"),
        (torch.randn(1, 5, 8), torch.randn(8, 4), 2, r"w_q must be \[8, 8\]"),
        (torch.randn(1, 5, 8), torch.randn(8, 8), 0, "n_heads must be at least 1"),
        (torch.randn(1, 0, 8), torch.randn(8, 8), 2, "empty"),
    ],
)
def test_bad_input(tokens, w, heads, match):
    with pytest.raises(ValueError, match=match):
        multi_head_attention(tokens, w, w, w, heads)


def test_seeded_weights_are_reproducible_and_about_unit_scale():
    from transformer.multihead import seeded_weights

    first, again, other = seeded_weights(256, 0), seeded_weights(256, 0), seeded_weights(256, 1)
    assert [tuple(w.shape) for w in first] == [(256, 256)] * 4
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))  # the same seed, the same numbers
    assert not torch.equal(first[0], other[0]) and not torch.equal(first[0], first[1])  # four different matrices
    x = torch.randn(64, 256, generator=torch.Generator().manual_seed(3))
    assert 0.8 < float((x @ first[0]).std()) < 1.2  # a projection keeps about unit variance
