"""The animal language: its grammar, its vocabulary, the decoder that learns it, and the heads that do the job."""

import pytest
import torch

from transformer.ablation import heads_removed, without_heads
from transformer.language import (
    ANIMALS,
    INDEX,
    NOUNS,
    PAD,
    PLURALS,
    VOCAB,
    LanguageConfig,
    accuracies,
    build_language_model,
    decode,
    draw_sentences,
    encode,
    held_out,
    train_language_model,
)

from conftest import without_clocks


def test_every_generated_sentence_follows_the_grammar():
    batch = draw_sentences(4000, torch.Generator().manual_seed(5))
    plural = set(PLURALS)
    for row, pronoun, n1, n2, cue, ref in zip(batch.tokens.tolist(), batch.pronoun, batch.n1, batch.n2, batch.cue,
                                              batch.referent, strict=True):
        words = [w for w in decode(row) if w != PAD]
        first, second = words[int(n1)], words[int(n2)]
        assert (first in plural) != (second in plural)  # the two nouns always differ in number
        assert first.removesuffix("s") != second.removesuffix("s")  # and are different animals
        if pronoun:
            said, sound = words[int(cue)], words[int(cue) + 1]
            referent = words[int(ref)]
            assert said == ("they" if referent in plural else "it")  # the pronoun agrees with its referent
            assert sound == ANIMALS[referent.removesuffix("s")]  # and the sound is the referent's
        else:
            verb = words[int(cue) + 1]
            assert verb == ("were" if first in plural else "was")  # agreement with the head noun, not the nearer
            assert int(ref) == int(n1)
    assert 0.4 < batch.pronoun.float().mean() < 0.6


def test_held_out_sentences_are_fixed_and_balanced():
    a, b = held_out(0), held_out(0)
    assert torch.equal(a.tokens, b.tokens) and int(a.pronoun.sum()) == int((~a.pronoun).sum()) == 1000


def test_encode_and_its_errors():
    assert decode(encode("The cat chased the dogs. Then it meowed.")[0]) == \
        "the cat chased the dogs . then it meowed .".split()
    with pytest.raises(ValueError, match=r"'zebra'.*VOCAB"):
        encode("the zebra chased the dogs .")
    with pytest.raises(ValueError, match="no words"):
        encode("   ")
    with pytest.raises(ValueError, match="<pad>"):
        encode("the <pad>")
    assert len(VOCAB) == len(set(VOCAB)) and all(n in INDEX for n in NOUNS + PLURALS)


TINY = LanguageConfig(d_model=16, n_heads=2, n_layers=1, steps=6, batch_size=16)


def test_training_is_deterministic():
    def run():
        return [r.as_dict() for r in without_clocks(list(train_language_model(TINY)))]

    assert run() == run()


@pytest.fixture
def trained(language_job):
    """The defaults, trained once for the test run (tests/conftest.py)."""
    return language_job.model, language_job.records


def test_the_defaults_learn_both_phenomena_and_a_head_finds_the_referent(trained):
    model, records = trained
    last = records[-1]
    assert last.pronoun_acc >= 0.99 and last.agreement_acc >= 0.99
    share = last.shares["referent_share"]
    assert float(share.max()) >= 0.5  # one head puts half the pronoun's attention on the noun it refers to
    layer, head = divmod(int(share.argmax()), share.shape[1])
    assert float(last.shares["other_share"][layer, head]) < 0.2  # and little on the other noun


def test_knocking_out_the_referent_head_breaks_pronouns(trained):
    model, records = trained
    share = records[-1].shares["referent_share"]
    best = divmod(int(share.argmax()), share.shape[1])
    evaluation = held_out(0)
    intact = accuracies(model, evaluation)[0]
    without = without_heads(model, [best], lambda m: accuracies(m, evaluation)[0])
    assert intact - without >= 0.30, (intact, without)
    assert accuracies(model, evaluation)[0] == intact  # the model is whole again afterwards


def test_ablation_removes_only_what_it_is_asked_to():
    model = build_language_model(TINY).eval()
    idx = encode("the cat chased the dogs . then it meowed .")
    whole = model(idx)
    with heads_removed(model, []):
        assert torch.equal(model(idx), whole)  # removing none changes nothing
    with heads_removed(model, [(0, 0), (0, 1)]):
        assert not torch.allclose(model(idx), whole)  # removing a whole layer's heads changes the output
        _, maps = model.attention_maps(idx)  # the explicit path removes them too
    assert torch.equal(model(idx), whole)
    with pytest.raises(ValueError, match="no head 5 in layer 0"):
        with heads_removed(model, [(0, 5)]):
            pass
    with torch.no_grad():
        effects = [without_heads(model, [(0, h)], lambda m: float(m(idx).sum())) for h in range(2)]
        intact = float(model(idx).sum())
    assert effects[0] != effects[1] and intact not in effects  # each head matters, differently

    def seen_by_others(m):  # what another session running the shared model sees meanwhile
        return [block.attn.head_mask for block in model.blocks], float(m(idx).sum())
    with torch.no_grad():
        masks, removed = without_heads(model, [(0, 0)], seen_by_others)
    assert set(masks) == {None} and removed == effects[0]  # the heads are removed from a copy, not the shared model


def test_every_training_sentence_is_grammatical_and_bad_ones_say_why():
    from transformer.language import EXAMPLES, grammatical

    batch = draw_sentences(3000, torch.Generator().manual_seed(11))
    assert all(grammatical(decode(row)) == (True, "") for row in batch.tokens)  # both forms, padding ignored
    assert all(grammatical(s.split()) == (True, "") for s in EXAMPLES)
    for sentence, why in [
        ("the cat chased the cat . then it meowed .", "the same animal twice ('cat')"),
        ("the cat chased the dog . then it meowed .", "both nouns are singular"),
        ("the cat chased the dogs . then it barked .", "the sound of a dog ('barked') after 'it', which refers to "
                                                       "the cat"),
        ("the cats chased the dog . then they barked .", "after 'they', which refers to the cats"),
        ("the cats near the dog was tired .", "'was' after a plural subject ('the cats')"),
        ("the cat near the dogs were tired .", "'were' after a singular subject ('the cat')"),
        ("the cat chased the dogs", "it ends too early: '.' expected"),
        ("the cat chased the dogs . then it meowed . then", "words after the sentence's end: 'then'"),
        ("the cat sat on the mat", "'sat' where a verb or a preposition should be (word 3)"),
    ]:
        ok, said = grammatical(sentence.split())
        assert not ok and why in said, (sentence, said)
