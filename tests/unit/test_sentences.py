"""The verdicts behind the sentences the pages print, each branch on made-up numbers; and the numbers the code
names once (issue 20)."""
import inspect

import pytest
import torch

from lab.analyses.sequence_runs import chance_share, head_sentence, positions_sentence
from lab.ui.explain import claim_sentence
from transformer.sequence import SeqConfig, SeqRecord

CONFIG = SeqConfig()  # reverse, 6 digits: 2 layers of 4 heads


def record(step: int, share: torch.Tensor, exact: float = 1.0) -> SeqRecord:
    return SeqRecord(step, 0.1, exact, exact, 1.0, 1.0, torch.zeros(2, 4, 12, 12), share)


def shares(best: float, rest: float) -> torch.Tensor:
    s = torch.full((2, 4), rest)
    s[1, 2] = best
    return s


def test_head_sentence_verdicts():
    chance = chance_share(CONFIG)
    start = record(0, shares(chance, chance))
    learned = head_sentence([start, record(300, shares(0.9, chance))], CONFIG)
    assert "layer 1, head 2 puts 90%" in learned and "has learned to look up the digit it writes" in learned
    forming = head_sentence([start, record(300, shares(2 * chance, chance))], CONFIG)
    assert "a pattern is forming" in forming
    nothing = head_sentence([start, record(300, shares(1.2 * chance, chance))], CONFIG)
    assert "no head has learned the lookup" in nothing


def test_positions_sentence_verdicts():
    def run(exact: float) -> list[SeqRecord]:
        return [record(300, shares(0.5, 0.1), exact)]

    both = positions_sentence(run(1.0), run(0.97), CONFIG)
    assert "still learns without positions" in both and "count the tokens" in both
    sort = SeqConfig(task="sort")
    assert "which* digits the prompt holds" in positions_sentence(run(1.0), run(0.99), sort)
    assert "each answer position must know how many" in positions_sentence(run(1.0), run(0.4), sort)
    reverse = positions_sentence(run(1.0), run(0.3), CONFIG)
    assert "Reverse is all about position" in reverse and "30.0% against 100.0%" in reverse
    small = positions_sentence(run(0.9), run(0.8), CONFIG)
    assert "The gap is small here" in small
    off = SeqConfig(positions=False)  # the main run without positions: the sentence still reads on, then off
    assert positions_sentence(run(0.3), run(1.0), off).startswith("With positions the model gets 100.0%")


def test_claim_sentence_verdicts():
    base = {"chance": 0.2, "tied": 0.95, "rows": 1200}
    assert "so the claim fails" in claim_sentence({**base, "plain": 0.25})
    assert "often, but far from always" in claim_sentence({**base, "plain": 0.5})
    assert "the claim nearly holds" in claim_sentence({**base, "plain": 0.95})
    assert "**25%** of rows" in claim_sentence({**base, "plain": 0.25})


def test_the_cnn_multiply_adds_are_counted_from_its_layers():
    from transformer.model import SmallCNN

    model, counted = SmallCNN(), []

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            counted.append(output[0].numel() * module.in_channels * k)
        elif isinstance(module, torch.nn.Linear):
            counted.append(module.in_features * module.out_features)

    for m in model.modules():
        m.register_forward_hook(hook)
    model.eval()(torch.zeros(1, 8, 8))
    assert SmallCNN.multiply_adds() == sum(counted)


def test_each_model_default_lives_in_one_place():
    from transformer.model import ModelConfig
    from transformer.train import TrainConfig

    assert TrainConfig().model_config() == ModelConfig()
    source = inspect.getsource(TrainConfig)
    for name in ("d_model", "n_heads", "n_layers", "patch_size", "mlp_ratio", "fused"):
        assert f"= ModelConfig.{name}" in source, name  # derived, not a second literal


def test_numbers_named_once():
    from conftest import ROOT

    code = "\n".join(p.read_text() for p in [*ROOT.glob("lab/**/*.py"), *ROOT.glob("views/*.py")])
    for literal in ("1438", "1,438", " 359 ", "[:100]", "Measured on 100 ", "1, 100,", "9 * 16 * 64"):
        assert literal not in code, literal


def test_typed_digits_are_parsed_without_a_model():
    from lab.analyses.sequence_runs import parse_digits

    assert parse_digits("3 1 4") == parse_digits("3,1,4") == parse_digits("314") == [3, 1, 4]
    assert parse_digits(" 1 2, 3 4 ") == [1, 2, 3, 4] and parse_digits("") == []
    for bad in ("12a4", "1.2", "-1", "①②"):
        assert parse_digits(bad) is None, bad


def test_knockout_sentence_verdicts():
    from lab.analyses.learned_heads import knockout_sentence

    result = {"pronoun": 0.999, "agreement": 1.0, "pronoun without": 0.497, "agreement without": 0.968}
    text = knockout_sentence(result, [(1, 0)])
    assert text.startswith("Without layer 1, head 0: pronouns")
    assert "99.9% → **49.7%** (50.2 points lost: the model needs it for this)" in text
    assert "100.0% → **96.8%** (3.2 points lost: the model does this without it)" in text
    both = knockout_sentence({**result, "agreement without": 0.9}, [(1, 0), (0, 2)])
    assert "a real but partial loss" in both and "needs them" in both
    assert knockout_sentence(result, []).startswith("Nothing removed: the model gets 99.9%")
    up = knockout_sentence({**result, "pronoun without": 1.0}, [(0, 1)])
    assert "0.1 points gained" in up


def test_the_referent_head_sentence():
    from lab.analyses.learned_heads import head_sentence

    shares = {"referent_share": torch.tensor([[0.1, 0.84]]), "other_share": torch.tensor([[0.1, 0.01]])}
    text = head_sentence(shares, {"referent_share": 0.11})
    assert text.startswith("layer 0, head 1: puts 84% of the pronoun's attention on the noun it refers to, and 1%")
    assert text.endswith("it has learned to find the noun a pronoun refers to.")
    weak = head_sentence({**shares, "referent_share": torch.tensor([[0.12, 0.2]])}, {"referent_share": 0.11})
    assert weak.endswith("no head finds the referent yet.")


def test_the_role_of_a_head_is_named_from_its_shares():
    from lab.analyses.learned_heads import role_table

    shares = {name: torch.full((1, 2), 0.05) for name in ("referent_share", "other_share", "agreement_share",
                                                             "previous_share")}
    shares["referent_share"][0, 0] = 0.8
    shares["previous_share"][0, 1] = 0.9
    chance = {"referent_share": 0.11, "other_share": 0.11, "agreement_share": 0.2, "previous_share": 0.25}
    roles = list(role_table(shares, chance)["role, measured"])
    assert roles == ["pronoun → the noun it refers to", "any word → the word before"]
    shares["referent_share"][0, 0] = 0.2  # under 2.5x chance and 30%: no role claimed
    assert list(role_table(shares, chance)["role, measured"])[0] == "no clear role"


def test_a_repeated_word_is_described_by_its_measured_gap():
    from lab.ui.explain import repeat_sentence

    assert "identical, because nothing tells the two apart. Switch positions on" in repeat_sentence(
        "the", 0, 4, 0.0, positions=False, learned=False)
    assert "each now carries its own position's encoding" in repeat_sentence("the", 0, 4, 0.8, True, False)
    learned = repeat_sentence("the", 0, 3, 1.2561, positions=False, learned=True)
    assert "**1.2561**: different: in the trained model" in learned and "identical" not in learned


def test_knockout_verdicts_on_page_6():
    from lab.analyses.sequence_runs import knockout_verdict

    single = {(0, 0): (1.0, 1.0), (0, 1): (0.99, 0.99), (1, 0): (0.98, 0.99), (1, 1): (1.0, 1.0)}
    redundant = knockout_verdict({"intact": (1.0, 1.0), "single": single, "breaking": [(0, 0), (1, 0)],
                                  "broken": (0.12, 0.4)})
    assert redundant.startswith("Intact, the model's exact-match on the held-out examples is 100.0%.")
    assert "Every single head is redundant: removing any one of them costs at most 2.0%" in redundant
    assert "(the most, layer 1, head 0, leaves 98.0%)" in redundant
    assert "Removing layer 0, head 0, layer 1, head 0 together breaks it: 12.0% exact-match" in redundant
    needed = knockout_verdict({"intact": (1.0, 1.0), "single": {**single, (1, 1): (0.2, 0.5)}, "breaking": [(1, 1)],
                               "broken": (0.2, 0.5)})
    assert "The task needs layer 1, head 1: without it its exact-match falls by 30 points or more, or below half." \
        in needed
    assert needed.endswith("Removed, it leaves 20.0%.")
    weak = knockout_verdict({"intact": (0.29, 0.7), "single": {(0, 0): (0.28, 0.7), (0, 1): (0.022, 0.4)},
                             "breaking": [(0, 1)], "broken": (0.022, 0.4)})
    assert "The task needs layer 0, head 1" in weak and "redundant" not in weak  # below half of a weak model
    unbroken = knockout_verdict({"intact": (0.5, 0.6), "single": single, "breaking": [], "broken": (0.5, 0.6)})
    assert unbroken.endswith("Even every head removed at once leaves it above half of that.")


def test_knockouts_measure_a_trained_sequence_model():
    from lab.analyses.sequence_runs import knockouts
    from transformer.sequence import SeqConfig, build_sequence_model, train_sequence_model

    config = SeqConfig(length=3, d_model=16, n_heads=2, n_layers=1, steps=150)
    model = build_sequence_model(config)
    for _ in train_sequence_model(config, model):
        pass
    result = knockouts(model, config, probes=200)
    assert set(result["single"]) == {(0, 0), (0, 1)} and result["intact"][0] > 0.5
    if result["breaking"]:
        assert result["broken"][0] < 0.5 * result["intact"][0] + 0.1  # on every prompt, near the probe's break
    every = knockouts(model, config, probes=200)
    assert every == result  # deterministic


def test_the_smallest_breaking_set_is_found_or_said_not_to_be():
    from lab.analyses import sequence_runs

    heads = [(0, h) for h in range(4)] + [(1, h) for h in range(4)]
    single = {h: (1.0, 1.0) for h in heads}
    needs = {(0, 1), (1, 2), (1, 3)}  # the task breaks only when all three are gone

    def breaks(removed):
        return needs <= set(removed)

    chosen, smallest = sequence_runs._breaking_set(heads, single, breaks)
    assert set(chosen) == needs and smallest  # 8 + 28 + 56 sets tried, the first of size 3 that breaks it
    assert sequence_runs._breaking_set(heads, single, lambda removed: False) == ([], True)
    many = [(layer, h) for layer in range(4) for h in range(8)]  # 32 heads: too many sets to try them all
    chosen, smallest = sequence_runs._breaking_set(many, {h: (1.0, 1.0) for h in many},
                                                   lambda r: {(3, 7), (2, 1)} <= set(r))
    assert set(chosen) == {(3, 7), (2, 1)} and not smallest  # greedy, then pruned to what the break needs
    text = sequence_runs.knockout_verdict({"intact": (1.0, 1.0), "single": single, "breaking": chosen,
                                           "broken": (0.1, 0.3), "smallest": smallest,
                                           "labels": ("exact-match", "token accuracy")})
    assert "a set found by search, in which every head is needed for the break" in text


def test_one_jump_for_the_sentence_and_the_mark():
    from types import SimpleNamespace

    from lab.server.requests import head_frame, steepest_rise

    records = [SimpleNamespace(step=s, token_acc=a, share=torch.full((1, 2), a)) for s, a in
               ((0, 0.05), (10, 0.07), (20, 0.6), (30, 0.9))]
    assert steepest_rise(records, "token_acc") == (20, 0.07, 0.6)
    assert steepest_rise(records[:2], "token_acc") is None  # a 2-point rise is not a jump to mark or to name
    frame = head_frame(records, lambda r: r.share)
    assert list(frame.columns) == ["step", "head", "share"] and len(frame) == 8
    assert frame.iloc[-1].to_dict() == {"step": 30, "head": "layer 0, head 1", "share": pytest.approx(0.9)}
