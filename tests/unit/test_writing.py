"""The Generate page's analyses (lab/analyses/writing.py) on small untrained decoders: prompts typed for each kind
of model, each step's rows (drawn, kept, removed and why; the cache), the cost, and sentences read from numbers."""
import pytest

from lab.analyses import writing
from transformer import generate as gen
from transformer.induction import InductionConfig
from transformer.language import LanguageConfig
from transformer.sequence import SEP, SeqConfig

SMALL = {"d_model": 16, "n_heads": 2, "n_layers": 2}


def test_each_model_reads_its_own_prompts():
    lang = writing.writer(LanguageConfig(**SMALL).build())
    assert lang.parse(lang.default_prompt).shape == (1, 7)
    with pytest.raises(ValueError, match="'zebra'"):
        lang.parse("the zebra")
    seq = writing.writer(SeqConfig(length=4, **SMALL).build())
    assert seq.parse("1 2, 3 4").tolist() == [[1, 2, 3, 4, SEP]] and seq.show([3, SEP]) == ["3", "→"]
    with pytest.raises(ValueError, match="type exactly 4 digits"):
        seq.parse("123")
    assert len(seq.parse(seq.default_prompt)[0]) == 5
    ind = writing.writer(InductionConfig(**SMALL).build())
    assert ind.parse("abx").tolist() == [[0, 1, 23]]
    assert 2 < len(ind.parse(ind.default_prompt)[0]) <= 31
    with pytest.raises(ValueError, match="letters from a to x"):
        ind.parse("ab9")
    with pytest.raises(ValueError, match="more than the 31 this model reads at once"):
        ind.parse("a" * 32)


def made(temperature=1.0, top_k=None, top_p=None, new=4):
    w = writing.writer(SeqConfig(length=4, **SMALL).build())
    return w, gen.generate(w.model, w.parse("1234"), new, temperature, top_k, top_p, seed=1)


@pytest.mark.parametrize("sampling,reason", [
    ({"top_k": 2}, "removed by top-k (only the 2 likeliest stay)"),
    ({"top_p": 0.05}, "removed by top-p (the likelier tokens already reach p)"),
    ({"temperature": 0}, "removed: temperature 0 keeps only the likeliest"),
])
def test_each_step_says_what_was_drawn_kept_and_removed_and_why(sampling, reason):
    w, g = made(**sampling)
    rows = writing.step_rows(w, g, sampling.get("temperature", 1.0), sampling.get("top_k"), sampling.get("top_p"))
    for s, step in enumerate(g.steps):
        bars = [b for b in rows["bars"] if b["step"] == s]
        assert len(bars) == writing.TOP and [b["order"] for b in bars] == list(range(writing.TOP))
        assert [b["token"] for b in bars if b["status"] == "drawn"] == [w.names[step.token]]
        removed = [b for b in bars if b["status"] == "removed"]
        assert removed and all(b["why"] == reason and b["drawn from"] == 0 for b in removed)
        assert all(b["drawn from"] > 0 for b in bars if b["status"] != "removed")
        assert sum(b["p"] for b in bars) <= 1.0001 and bars[0]["p"] >= bars[-1]["p"]
    if "top_k" in sampling:
        assert all(len([b for b in rows["bars"] if b["step"] == s and b["status"] != "removed"]) == 2
                   for s in range(len(g.steps)))


def test_the_cache_rows_grow_by_one_column_a_step_and_the_attention_covers_the_prefix():
    w, g = made()
    rows = writing.step_rows(w, g, 1.0, None, None)
    for s in range(len(g.steps)):
        cache = [c for c in rows["cache"] if c["step"] == s and c["row"] == "L1 values"]
        states = [c["state"] for c in cache]
        assert states.count("cached") == g.prompt_len + s - 1 and states.count("added this step") == 1
        assert states.index("added this step") == g.prompt_len + s - 1
        keys = {a["key"] for a in rows["attention"] if a["step"] == s}
        assert len(keys) == g.prompt_len + s  # every token read before the new one, none after
    tokens = rows["tokens"]
    assert [t["step"] for t in tokens] == [-1] * g.prompt_len + list(range(len(g.steps)))
    assert [t["p"] for t in tokens[g.prompt_len:]] == [round(float(s.probs[s.token]), 4) for s in g.steps]


def test_the_cost_is_the_same_at_the_first_step_and_linear_against_quadratic_after():
    w, g = made(new=4)
    again = gen.generate(w.model, w.parse("1234"), 4, seed=1, cache=False)
    rows = writing.cost_rows(w.model, g, again)
    cached = [r["multiply-adds"] for r in rows if r["way"] == "with the KV cache"]
    plain = [r["multiply-adds"] for r in rows if r["way"] != "with the KV cache"]
    assert cached[0] == plain[0]  # the first step reads the whole prompt either way
    assert cached[2] - cached[1] == cached[3] - cached[2] < plain[3] - plain[2]
    sentence = writing.cost_sentence(rows)
    assert f"{rows[3]['total']:,} multiply-adds against {rows[-1]['total']:,}" in sentence


def test_the_timing_sentence_follows_the_times():
    def rows(c, p):
        return [{"step": s, "way": way, "multiply-adds": 1, "total": 1 + s, "ms": ms}
                for way, ms in (("with the KV cache", c), ("without (all again)", p)) for s in range(3)]
    assert "saves time as well" in writing.cost_sentence(rows(0.1, 1.0))
    assert "does not save time here" in writing.cost_sentence(rows(1.0, 1.0))


def test_errors_are_named_by_their_kind_and_sounds_checked_against_the_referent():
    from transformer.language import grammatical
    for words, name in (("the cat saw the cat . then it meowed .", "the same animal twice"),
                        ("the cats saw the dogs . then they barked .", "both nouns singular or both plural"),
                        ("the cats near the dog was tired .", "was/were against the subject"),
                        ("the cat saw the", "the sentence breaks off"),
                        ("the cat chased dogs", "a wrong word where 'the' should be")):
        ok, why = grammatical(words.split())
        assert not ok and writing.error_name(why) == name, (words, why)
    assert writing.sound_fits("the cat saw the dogs . then it meowed .".split()) is True
    assert writing.sound_fits("the cat saw the dogs . then they meowed .".split()) is False
    assert writing.sound_fits("the cat saw the dogs . then".split()) is None


def row(t, grammatical, fits=None, errors=()):
    return writing.TemperatureRow(t, 200, grammatical, 1 if t == 0 else 150, 40 if fits is not None else 0, fits,
                                  list(errors))


def test_the_study_sentence_reads_its_own_numbers():
    falling = [row(0, 1.0), row(0.5, 0.9, 0.97), row(1.0, 0.7, 0.8),
               row(1.5, 0.3, 0.6, [("a wrong word where 'the' should be", 90, "the the cat")])]
    text = writing.study_sentence(falling)
    assert text.startswith("The hotter the sampling, the more mistakes: 100% of the sentences are grammatical at "
                           "temperature 0, 30% at 1.5.")
    assert "writes 1 different sentence in 200" in text and "fits the referent in 97% at 0.5 and 60% at 1.5" in text
    assert "commonest error is a wrong word where 'the' should be (90 of 200)" in text
    flat = writing.study_sentence([row(0, 0.95), row(1.5, 0.96)])
    assert flat.startswith("Here temperature barely changes grammaticality: from 95% to 96%")


def test_the_pronoun_step_names_the_head_on_the_referent(language_job):
    w = writing.writer(language_job.model)
    g = gen.generate(w.model, w.parse("the cat chased the dogs . then it"), 5, temperature=0)
    text = writing.pronoun_sentence(w, g)
    weight = g.steps[0].attention[:, :, 1]  # every head's weight on "cat"
    layer, head = divmod(int(weight.argmax()), weight.shape[1])
    assert text.startswith("At step 0 the model had to pick the sound after 'it', which refers to 'cat'")
    assert f"layer {layer}, head {head} put {float(weight.max()):.0%}" in text and text.endswith("drew 'meowed'.")
    assert float(weight.max()) > 0.5  # the trained pronoun head finds its referent
    assert writing.pronoun_sentence(w, gen.generate(w.model, w.parse("the cat chased"), 1, temperature=0)) == ""
