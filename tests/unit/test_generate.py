"""Generation (transformer/generate.py): the KV cache gives what recomputing gives, sampling does what it says, the
trained language model writes a sentence and stops at its end."""
import pytest
import torch

from transformer.ablation import heads_removed
from transformer.decoder import Decoder, DecoderConfig
from transformer.generate import distribution, generate, multiply_adds, sample_many, step, stream
from transformer.induction import InductionConfig
from transformer.language import EXAMPLES, LanguageConfig, complete, decode, encode
from transformer.sequence import SeqConfig

SMALL = {"d_model": 16, "n_heads": 2, "n_layers": 2}


def decoders() -> dict[str, tuple[Decoder, torch.Tensor]]:
    """Every kind of decoder in the package, untrained, each with a prompt of its own tokens."""
    return {
        "sequence": (SeqConfig(**SMALL).build(), torch.tensor([[3, 1, 4, 1, 5, 9]])),
        "induction": (InductionConfig(**SMALL).build(), torch.tensor([[5, 6, 7, 5]])),
        "language": (LanguageConfig(**SMALL).build(), encode("the cat chased")),
        "bare, no positions": (Decoder(DecoderConfig(**SMALL, positions=False), 7, 24), torch.tensor([[1, 2]])),
    }


@pytest.mark.parametrize("kind", list(decoders()))
def test_the_cache_gives_the_same_tokens_and_probabilities(kind):
    model, prompt = decoders()[kind]
    for sampling in ({"temperature": 1.0}, {"temperature": 0.7, "top_k": 3}, {"temperature": 1.3, "top_p": 0.8}):
        cached = generate(model, prompt, 6, seed=2, cache=True, **sampling)
        again = generate(model, prompt, 6, seed=2, cache=False, **sampling)
        assert cached.tokens == again.tokens and len(cached.steps) == 6
        for a, b in zip(cached.steps, again.steps, strict=True):
            torch.testing.assert_close(a.probs, b.probs, atol=1e-5, rtol=0)
            torch.testing.assert_close(a.attention, b.attention, atol=1e-5, rtol=0)
        assert [s.cache_len for s in cached.steps] == list(range(prompt.shape[1], prompt.shape[1] + 6))
        assert {s.cache_len for s in again.steps} == {0}


def test_a_step_is_the_models_own_forward_with_heads_removed_too():
    model, prompt = decoders()["language"]
    model.eval()
    logits, attention, cache = step(model, prompt, 0, None)
    with torch.no_grad():
        torch.testing.assert_close(logits, model(prompt)[0, -1], atol=1e-5, rtol=0)
        _, maps = model.attention_maps(prompt)
    torch.testing.assert_close(attention, maps[0, :, :, -1], atol=1e-6, rtol=0)  # the last query's row, every head
    assert len(cache) == 2 and cache[0][0].shape == (1, 2, prompt.shape[1], 8)  # (1, heads, keys, d_head)
    with heads_removed(model, [(0, 1)]), torch.no_grad():
        torch.testing.assert_close(step(model, prompt, 0, None)[0], model(prompt)[0, -1], atol=1e-5, rtol=0)


def test_greedy_is_top_k_1_and_the_models_argmax():
    model, prompt = decoders()["sequence"]
    greedy = generate(model, prompt, 5, temperature=0)
    assert greedy.tokens == generate(model, prompt, 5, temperature=1.0, top_k=1, seed=7).tokens
    with torch.no_grad():
        assert greedy.tokens[prompt.shape[1]] == int(model(prompt)[0, -1].argmax())
    assert all(float(s.probs.max()) == 1.0 for s in greedy.steps)  # all the probability on the token taken


def test_a_seed_fixes_the_text_and_leaves_the_global_rng_alone():
    model, prompt = decoders()["bare, no positions"]
    state = torch.random.get_rng_state()
    texts = {seed: generate(model, prompt, 12, temperature=2.0, seed=seed).tokens for seed in (0, 0, 1)}
    assert torch.equal(torch.random.get_rng_state(), state)
    assert generate(model, prompt, 12, temperature=2.0, seed=0).tokens == texts[0] != texts[1]


def test_top_k_and_top_p_keep_what_they_say():
    logits = torch.log(torch.tensor([0.5, 0.2, 0.15, 0.1, 0.05]))
    torch.testing.assert_close(distribution(logits), torch.tensor([0.5, 0.2, 0.15, 0.1, 0.05]))
    torch.testing.assert_close(distribution(logits, top_k=2), torch.tensor([5 / 7, 2 / 7, 0, 0, 0]))
    # top-p keeps the smallest set of the likeliest whose mass reaches p: 0.5 + 0.2 = 0.7 reaches 0.7, not 0.71
    assert distribution(logits, top_p=0.7).nonzero().flatten().tolist() == [0, 1]
    assert distribution(logits, top_p=0.71).nonzero().flatten().tolist() == [0, 1, 2]
    assert distribution(logits, top_p=0.4).nonzero().flatten().tolist() == [0]
    flat = distribution(logits, temperature=100.0)
    assert float(flat.max() - flat.min()) < 0.01  # a high temperature spreads the probability out


@pytest.mark.parametrize("kwargs,match", [
    ({"temperature": -1}, "temperature must be a number of 0 or more"),
    ({"top_k": 0}, "top-k must be a whole number of 1 or more"),
    ({"top_p": 0}, "top-p must be more than 0 and at most 1"),
    ({"top_p": 1.5}, "top-p must be more than 0 and at most 1"),
    ({"max_new": -2}, "new tokens must be a whole number"),
])
def test_bad_settings_are_refused_in_words(kwargs, match):
    model, prompt = decoders()["sequence"]
    with pytest.raises(ValueError, match=match):
        generate(model, prompt, **{"max_new": 3, **kwargs})


def test_bad_prompts_are_refused_in_words():
    model, _ = decoders()["sequence"]
    with pytest.raises(ValueError, match="more than the 12 this model reads at once"):
        generate(model, torch.zeros(1, 13, dtype=torch.long), 1)
    with pytest.raises(ValueError, match="outside this model's 11 tokens"):
        generate(model, torch.tensor([[3, 11]]), 1)
    with pytest.raises(ValueError, match="not in the animal language's vocabulary: 'zebra'"):
        encode("the zebra chased")


def test_it_stops_at_the_context():
    model, prompt = decoders()["sequence"]  # reads 12 tokens at most; the prompt has 6
    made = generate(model, prompt, 100)
    assert len(made.tokens) == 13 and len(made.steps) == 7  # the last step read all 12


def test_the_trained_language_model_writes_the_sound_of_the_referent_and_stops(language_job):
    model = language_job.model
    made = generate(model, encode("the cat chased the dogs . then it"), 10, temperature=0)
    assert decode(made.tokens[-2:]) == ["meowed", "."] and len(made.steps) == 2  # "it" is the cat; then the end
    assert complete(EXAMPLES[0].split()) and not complete("the cat chased the dogs .".split())
    assert complete("the cats near the dog were tired .".split())


def test_the_cache_saves_quadratic_work():
    model, _ = decoders()["language"]
    assert multiply_adds(model, 1, cache=True) == multiply_adds(model, 1, cache=False)
    cached = [multiply_adds(model, n, cache=True) for n in (4, 8, 16)]
    plain = [multiply_adds(model, n, cache=False) for n in (4, 8, 16)]
    assert cached[2] - cached[1] == 2 * (cached[1] - cached[0])  # linear in the length
    assert plain[2] > 3 * plain[1] - 2 * plain[0] and all(p > c for p, c in zip(plain, cached, strict=True))


def test_stream_yields_the_steps_generate_returns_and_times_each():
    model, prompt = decoders()["induction"]
    steps = list(stream(model, prompt, 5, temperature=0.8, seed=3))
    made = generate(model, prompt, 5, temperature=0.8, seed=3)
    assert [s.token for s in steps] == made.tokens[prompt.shape[1]:]
    assert all(s.seconds > 0 for s in steps)
    with pytest.raises(ValueError, match="temperature must be"):
        stream(model, prompt, 5, temperature=-0.1)  # checked when called, before any step is asked for


def test_many_samples_at_once_end_where_generate_ends(language_job):
    model = language_job.model
    prompt = encode("the")
    greedy = sample_many(model, prompt, 3, temperature=0)
    assert greedy == [generate(model, prompt, 20, temperature=0).tokens] * 3
    texts = sample_many(model, prompt, 50, temperature=1.0, seed=1)
    assert texts == sample_many(model, prompt, 50, temperature=1.0, seed=1) and len(texts) == 50
    for text in texts:
        assert text[0] == prompt[0, 0] and len(text) <= model.context + 1
        assert complete(decode(text)) or len(text) == model.context + 1
        assert not any(complete(decode(text[:t])) for t in range(2, len(text)))  # nothing after the first end
    with pytest.raises(ValueError, match="number of texts"):
        sample_many(model, prompt, 0)
