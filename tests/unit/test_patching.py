"""Activation patching and the logit lens (transformer/patching.py, transformer/lens.py): the ends are 0 and 1, the
batched patching equals one head at a time, a hand-made model's one useful head is found, the lens ends at the
model's own output, and the trained language model's pronoun head is the one patching finds."""
import pytest
import torch

from transformer.decoder import Decoder, DecoderConfig, finish_block
from transformer.induction import InductionConfig
from transformer.language import LanguageConfig, encode
from transformer.lens import logit_lens
from transformer.patching import _from, _heads, head_patch, residual_patch, trace
from transformer.sequence import SeqConfig

SMALL = {"d_model": 16, "n_heads": 2, "n_layers": 2}


def models() -> dict:
    return {"sequence": SeqConfig(**SMALL).build(), "induction": InductionConfig(**SMALL).build(),
            "language": LanguageConfig(**SMALL).build(),
            "bare, no positions": Decoder(DecoderConfig(**SMALL, positions=False), 7, 10)}


def pairs(model, B=6, T=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    vocab = model.head.out_features
    clean = torch.randint(0, vocab, (B, T), generator=g)
    corrupt = clean.clone()
    corrupt[:, 1] = (clean[:, 1] + 1) % vocab  # one token differs
    return clean, corrupt, torch.randint(0, vocab, (B,), generator=g), torch.randint(0, vocab, (B,), generator=g)


@pytest.mark.parametrize("kind", list(models()))
def test_the_step_by_step_run_is_the_models_forward_and_the_lens_ends_at_its_output(kind):
    model = models()[kind].eval()
    clean = pairs(model)[0]
    with torch.no_grad():
        torch.testing.assert_close(_from(model, trace(model, clean)[0][0], 0), model(clean)[:, -1],
                                   atol=1e-5, rtol=0)
        lens = logit_lens(model, clean[:1])
        torch.testing.assert_close(lens[-1], torch.softmax(model(clean[:1])[0], -1), atol=1e-5, rtol=0)
    assert lens.shape == (3, 5, model.head.out_features)


@pytest.mark.parametrize("kind", list(models()))
def test_the_ends_are_0_and_1(kind):
    model = models()[kind]
    clean, corrupt, answer, wrong = pairs(model)
    resid = residual_patch(model, clean, corrupt, answer, wrong)
    assert resid.shape == (3, 5)
    assert float(resid[-1, -1]) == pytest.approx(1.0, abs=1e-5)  # the final residual at the last position
    # position 0 holds the same token in both prompts and (causal) sees nothing else: at every layer its clean
    # residual is the corrupted run's own, and patching a run onto itself gives 0
    assert torch.allclose(resid[:, 0], torch.zeros(3), atol=1e-5)
    assert float(resid[0, 1]) == pytest.approx(1.0, abs=1e-4)  # the changed token, entering block 0: all of it
    assert head_patch(model, clean, corrupt, answer, wrong).shape == (2, 2)


def test_batched_head_patching_equals_one_head_at_a_time():
    model = models()["language"].eval()
    clean, corrupt, answer, wrong = pairs(model, B=4, T=6, seed=3)
    batched = head_patch(model, clean, corrupt, answer, wrong)
    resid_c, heads_c = trace(model, clean)
    resid_x, heads_x = trace(model, corrupt)

    def ld(idx_logits):
        rows = torch.arange(4)
        return float((idx_logits[rows, answer] - idx_logits[rows, wrong]).mean())

    with torch.no_grad():
        low, high = ld(_from(model, resid_x[0], 0)), ld(_from(model, resid_c[0], 0))
        for layer, block in enumerate(model.blocks):
            for h in range(2):
                z = _heads(block, resid_x[layer]).clone()
                z[:, h] = heads_c[layer][:, h]
                patched = _from(model, finish_block(block, resid_x[layer], z), layer + 1)
                assert float(batched[layer, h]) == pytest.approx((ld(patched) - low) / (high - low), abs=1e-5)


def test_the_one_head_that_carries_the_answer_is_found():
    """A two-layer model whose every head but layer 1, head 0 is removed (its output zeroed): only that head can
    carry the difference between the prompts to the last position, so patching ranks it first and the others 0."""
    torch.manual_seed(0)
    model = Decoder(DecoderConfig(d_model=16, n_heads=2, n_layers=2), 9, 8).eval()
    model.blocks[0].attn.head_mask = torch.zeros(2)
    model.blocks[1].attn.head_mask = torch.tensor([1.0, 0.0])
    clean, corrupt, answer, wrong = pairs(model, B=8, T=5, seed=1)
    scores = head_patch(model, clean, corrupt, answer, wrong)
    assert float(scores[1, 0]) == pytest.approx(1.0, abs=1e-5)  # all of the answer comes through it
    assert scores.flatten().tolist().count(float(scores.max())) == 1
    assert torch.allclose(scores[0], torch.zeros(2)) and float(scores[1, 1]) == pytest.approx(0.0, abs=1e-6)


def test_bad_pairs_are_refused_in_words():
    model = models()["sequence"]
    clean, corrupt, answer, wrong = pairs(model)
    with pytest.raises(ValueError, match="no difference for patching to explain"):
        head_patch(model, clean, clean, answer, wrong)
    with pytest.raises(ValueError, match="pairs of the same length"):
        residual_patch(model, clean, corrupt[:, :4], answer, wrong)
    with pytest.raises(ValueError, match="outside this model's 11 tokens"):
        head_patch(model, clean, corrupt, answer + 20, wrong)
    with pytest.raises(ValueError, match="outside this model's 11 tokens"):
        logit_lens(model, torch.tensor([[3, 12]]))


def test_on_the_trained_language_model_the_pronoun_head_restores_the_sound(language_job):
    """'it' and 'they' swapped: the sound of the other animal becomes the answer; the head that patching finds is
    the one whose attention goes from the pronoun to its referent."""
    from transformer.language import INDEX, head_shares, held_out

    model = language_job.model
    clean = torch.cat([encode("the cat chased the dogs . then it"), encode("the cats saw the dog . then they")])
    corrupt = torch.cat([encode("the cat chased the dogs . then they"), encode("the cats saw the dog . then it")])
    answer, wrong = torch.tensor([INDEX["meowed"], INDEX["meowed"]]), torch.tensor([INDEX["barked"], INDEX["barked"]])
    heads = head_patch(model, clean, corrupt, answer, wrong)
    resid = residual_patch(model, clean, corrupt, answer, wrong)
    assert float(resid[-1, -1]) == pytest.approx(1.0, abs=1e-5)
    share = head_shares(model, held_out())["referent_share"]  # (layers, heads)
    assert int(heads.argmax()) == int(share.argmax())  # the top patched head is the pronoun head


def test_pronoun_pairs_swap_the_animals_and_name_both_sounds():
    from transformer.language import ANIMALS, decode, held_out, pronoun_pairs

    clean, corrupt, answer, wrong = pronoun_pairs(held_out(), 8)  # no adjectives: "the N1 V the N2 . then P"
    assert len(clean) > 150 and clean.shape[1] == corrupt.shape[1] == 8
    for c, x, a, w in zip(clean[:20], corrupt[:20], answer[:20], wrong[:20], strict=True):
        words, twin = decode(c), decode(x)
        assert [words[i] for i in (0, 2, 3, 5, 6, 7)] == [twin[i] for i in (0, 2, 3, 5, 6, 7)]
        for i, j in ((1, 4), (4, 1)):  # each noun's place holds the other animal, in the number it had
            assert twin[i].removesuffix("s") == words[j].removesuffix("s") and twin[i].endswith("s") == \
                words[i].endswith("s")
        plural = words[7] == "they"
        referent = next(n for n in (words[1], words[4]) if n.endswith("s") == plural)
        other = words[4] if referent == words[1] else words[1]
        assert decode([a, w]) == [ANIMALS[referent.removesuffix("s")], ANIMALS[other.removesuffix("s")]]


def test_the_page_3_twins_and_their_reading_follow_the_numbers():
    from lab.analyses import causes

    pair = causes.pair_for("the big owls saw the small frog . then they hooted .".split())
    assert pair.corrupt == "the big frogs saw the small owl . then they".split()
    assert (pair.answer, pair.wrong) == ("hooted", "croaked") and "now refers to the frogs, not the owls" in pair.change
    agree = causes.pair_for("the cats near the dog were tired .".split())
    assert (agree.corrupt, agree.answer, agree.wrong, agree.kind) == ("the cat near the dogs".split(), "were", "was",
                                                                       "agreement")
    with pytest.raises(ValueError, match="'it' or 'they'"):
        causes.pair_for("the cat chased the dogs .".split())
    with pytest.raises(ValueError, match="not a sentence of the language"):
        causes.pair_for("the cat cat the dogs . then it".split())
    heads = torch.tensor([[0.1, 0.0], [0.9, 0.2]])
    resid = torch.zeros(3, 10)
    resid[0, 2], resid[0, 6], resid[2, 9] = 0.6, 0.4, 1.0
    shares = {"referent_share": torch.tensor([[0.1, 0.1], [0.8, 0.1]])}
    text = causes.reading(pair, heads, resid, shares, heads, 200)
    assert text.startswith("Patched alone, **layer 1, head 0** restores the most of 'hooted' against 'croaked': 0.90")
    assert "It is the head whose attention goes from the pronoun to its noun (80%" in text
    assert "('2: owls' 0.60, '6: frog' 0.40)" in text and "block 1 carried the answer there" in text
    shares = {"referent_share": torch.tensor([[0.7, 0.1], [0.2, 0.1]])}
    assert "is layer 0, head 0 (70% on held-out sentences); patched alone here it restores 0.10" in causes.reading(
        pair, heads, resid, shares, heads, 200)


def test_every_training_record_keeps_the_lens_of_its_example():
    from lab.analyses.causes import lens_sentence
    from transformer.lens import next_token_lens
    from transformer.sequence import full_sequences, held_out

    config = SeqConfig(length=4, steps=20, **SMALL)
    model = config.build()
    records = list(config.train(model))
    full = full_sequences(config.task, held_out(config)[:1])
    right, top = next_token_lens(model, full[:, :-1], full[:, 1:])
    torch.testing.assert_close(records[-1].lens, right)
    assert torch.equal(records[-1].lens_top, top)
    assert records[-1].lens.shape == (3, 8) and "lens" not in records[-1].as_dict()
    probs = logit_lens(model, full[:, :-1])
    assert torch.allclose(probs[:, 2, full[0, 3]], right[:, 2])  # the right next token's probability
    text = lens_sentence(torch.tensor([[0.9, 0.1, 0.2], [0.9, 0.8, 0.1], [0.9, 0.8, 0.7]]), 40)
    assert text.startswith("At step 40, the right next token gets more than half the probability at 1 the "
                           "embedding, 2 after block 0, 3 after block 1 (of 3 positions")
    assert lens_sentence(torch.tensor([[0.9, 0.1], [0.9, 0.8], [0.9, 0.8]]), 1).endswith(
        "as many as at the output are already there after block 0.")


def test_the_phase_change_is_read_from_the_records():
    from lab.analyses.sequence_runs import phase_change
    from transformer.decoder import SeqRecord

    def record(step, score, loss):
        share = torch.tensor([[0.1, 0.1], [score, 0.2]])
        return SeqRecord(step, loss, 0.0, 0.0, 0.0, 0.0, torch.zeros(2, 2, 3, 3), share)

    records = [record(s, v, loss) for s, v, loss in ((0, 0.05, 3.0), (100, 0.06, 2.9), (200, 0.3, 2.0), (300, 0.7, 0.6),
                                               (400, 0.72, 0.4))]
    text, window = phase_change(records)
    assert text == ("Layer 1, head 0's prefix matching rose from 0.06 to 0.70 between steps 100 and 300; the loss fell "
                    "from 2.90 to 0.60 over the same steps (shaded).") and window == (100, 300)
    flat = [record(s, 0.1 + s / 10_000, 2.0) for s in (0, 100, 200)]
    assert phase_change(flat)[0].startswith("No head's score rose by 0.2 or more in 200 steps") and \
        phase_change(flat)[1] is None
