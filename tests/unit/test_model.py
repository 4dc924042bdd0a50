import pytest
import torch

from transformer.model import ModelConfig, PatchClassifier, count_parameters


@pytest.mark.parametrize("patch,heads,layers", [(4, 4, 2), (2, 2, 1), (1, 1, 1), (8, 8, 3)])
def test_fused_and_explicit_attention_agree(patch, heads, layers):
    torch.manual_seed(0)
    model = PatchClassifier(
        ModelConfig(patch_size=patch, d_model=16 if heads != 8 else 32, n_heads=heads, n_layers=layers)
    )
    patches = torch.rand(3, model.config.n_patches, patch * patch)
    model.set_fused(True)
    fused = model(patches)
    model.set_fused(False)
    explicit = model(patches)
    torch.testing.assert_close(fused, explicit, atol=1e-5, rtol=1e-4)
    assert fused.shape == (3, 10)
    # gradients agree too
    model.set_fused(True)
    model.zero_grad()
    model(patches).square().sum().backward()
    g_fused = [p.grad.clone() for p in model.parameters()]
    model.set_fused(False)
    model.zero_grad()
    model(patches).square().sum().backward()
    for a, p in zip(g_fused, model.parameters(), strict=True):
        torch.testing.assert_close(a, p.grad, atol=1e-4, rtol=1e-3)


def test_attention_maps():
    model = PatchClassifier(ModelConfig())
    patches = torch.rand(2, 4, 16)
    logits, maps = model.attention_maps(patches)
    torch.testing.assert_close(logits, model(patches), atol=1e-5, rtol=1e-4)
    assert len(maps) == 2 and maps[0].shape == (2, 4, 5, 5)  # (B, heads, 1 + 4 patches, 1 + 4 patches)
    torch.testing.assert_close(maps[1].sum(-1), torch.ones(2, 4, 5))


def test_the_attention_is_ours_not_torchs():
    model = PatchClassifier(ModelConfig())
    assert not any(isinstance(m, torch.nn.MultiheadAttention) for m in model.modules())
    assert 5_000 < count_parameters(model) < 50_000


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(d_model=30, n_heads=4), "4 heads cannot split"),
        (dict(patch_size=3), "patch_size 3 does not divide"),
        (dict(n_layers=0), "n_layers must be at least 1"),
    ],
)
def test_bad_config(kw, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig(**kw)
