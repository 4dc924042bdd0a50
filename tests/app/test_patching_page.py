"""Page 3's "Which head makes it say meowed?" in AppTest: the grids and their reading come from the package's
numbers, another sentence form gets its own twin, and a sentence with nothing to patch gets a message."""
from lab.analyses import causes

from conftest import chart_title, open_page, settle


def patching_text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_page_3_patches_the_sentence_and_reads_the_grids(language_served):
    from lab.analyses.learned_heads import LanguageRequest
    from lab.server.jobs import REGISTRY

    at = open_page("multi_head")
    at.toggle(key="learned_heads").set_value(True)
    settle(at)
    assert "Which head makes it say meowed?" in [s.value for s in at.subheader]
    job = REGISTRY.get(LanguageRequest().config)
    pair = causes.pair_for("the cat chased the dogs . then it meowed .".split())
    heads, resid = causes.patched(job.model, pair)
    general, n = causes.held_out_heads(job.model)
    assert causes.reading(pair, heads, resid, job.records[-1].shares, general, n) in patching_text(at)
    titles = [chart_title(c) for c in at.get("vega_lite_chart")]
    assert "one head's output taken from the sentence into its twin" in titles
    assert "the residual stream at one position taken from the sentence" in titles
    assert "**Its twin** the dog chased the cats \\. then it → *barked*" in patching_text(at)
    at.text_input(key="learned_sentence").input("the cats near the dog were tired .")
    settle(at)
    assert "**Its twin** the cat near the dogs → *was*" in patching_text(at)
    at.text_input(key="learned_sentence").input("the cat chased the dogs .")
    settle(at)
    assert any("patching needs a sentence with 'it' or 'they'" in i.value for i in at.info)
