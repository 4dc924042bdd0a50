"""Each page's settings as its link holds them, in one place: the page reads them, and a lesson's step is checked
against them when the lessons load (a step that sets a setting a page does not have, or a value it cannot use, is
named before any student opens it). Built on first use, so a page imports only what it needs."""
from __future__ import annotations

from lab.ui import links

# page 1
LAYOUTS = ["columns: X is [d_model, tokens] (coursework)", "rows: X is [tokens, d_model] (PyTorch)"]
# page 2
MAX_TOKENS = 12
MAX_CHARS = 300  # the text box and the shareable link take the same length, so every sentence makes a link that opens
DEFAULT_SENTENCE = "the cat sat on the mat"
MODES = {"random": "random (seeded)", "learned": "learned (the animal language)"}
# page 3
EMBED_SIZES = [8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]  # sizes with many head counts
# page 5
KERNELS = [3, 5, 7, 9]  # odd, so a convolution is centred on its token


def _shapes() -> dict:
    return {"d_model": links.Int(1, 4096, 768), "n_tokens": links.Int(1, 512, 6),
            "layout": links.Choice(LAYOUTS, LAYOUTS[0]), "tie_dk": links.Bool(True), "d_k": links.Int(1, 4096, 64)}


def _self_attention() -> dict:
    return {"sentence": links.Text(DEFAULT_SENTENCE, MAX_CHARS), "d_model": links.Int(2, 64, 8),
            "d_k": links.Int(1, 64, 4), "seed": links.Int(0, 9999, 0), "scale": links.Bool(True),
            "causal": links.Bool(False), "query": links.Int(0, MAX_TOKENS - 1, 0),
            "key": links.Int(0, MAX_TOKENS - 1, 0), "positions": links.Bool(False),
            "mode": links.Choice(list(MODES), "random"), "head": links.Int(-1, 63, -1)}


def _multi_head() -> dict:
    return {"batch": links.Int(1, 8, 1), "tokens": links.Int(1, 64, 5), "embdim": links.Choice(EMBED_SIZES, 768),
            "heads": links.Int(1, 64, 12), "causal": links.Bool(False)}


def pins(spec) -> links.Field:
    """Pinned runs in the link: text that must decode to at most four pins the page can train."""
    from lab.analyses import comparison

    def parse(raw: str) -> str:
        comparison.decode(spec, raw)  # ValueError, in words, for anything the page cannot use
        return raw

    return links.Field("", parse)


def _training() -> dict:
    from lab.analyses.classifier_runs import DEFAULTS, MAX_EPOCHS, OPTIONS, PINS

    fields = {k: links.Int(1, MAX_EPOCHS, DEFAULTS[k]) for k in ("epochs_a", "epochs_b", "epochs_c")}
    fields |= {k: links.Choice(options, DEFAULTS[k]) for k, options in OPTIONS.items()}
    return fields | {"seed": links.Int(0, 9999, DEFAULTS["seed"]), "cnn": links.Bool(False), "run": links.Bool(False),
                     "pins": pins(PINS)}


def _why_attention() -> dict:
    return {"n_tokens": links.Int(8, 256, 64), "kernel": links.Choice(KERNELS, 3), "layers": links.Int(1, 16, 8),
            "seeds": links.Choice([3, 4, 5], 3), "run": links.Bool(False)}


def _attention_learns() -> dict:
    from lab.analyses.sequence_runs import LENGTHS, OPTIONS, SEQ_PINS
    from transformer.sequence import SeqConfig

    d = SeqConfig()
    return {**{k: links.Choice(v, getattr(d, k)) for k, v in OPTIONS.items()}, "length": links.Int(*LENGTHS, d.length),
            "seed": links.Int(0, 9999, d.seed), "positions": links.Bool(True), "compare": links.Bool(False),
            "run": links.Bool(False), "seq_pins": pins(SEQ_PINS)}


def _generate() -> dict:
    from lab.ui.generate_panel import MODELS

    return {"model": links.Choice(list(MODELS), "language"), "prompt": links.Text("", 120),
            "temperature": links.Float(0.0, 2.0, 1.0), "top_k": links.Int(0, 50, 0),
            "top_p": links.Float(0.05, 1.0, 1.0), "seed": links.Int(0, 9999, 0), "max_new": links.Int(1, 32, 12),
            "run": links.Bool(False)}


BUILDERS = {"shapes": _shapes, "self_attention": _self_attention, "multi_head": _multi_head, "training": _training,
            "why_attention": _why_attention, "attention_learns": _attention_learns, "generate": _generate}
# each page's link name -> its script, for a lesson step that opens another page
SCRIPTS = {name: f"views/{name}.py" for name in BUILDERS}


def fields(page: str) -> dict[str, links.Field]:
    """The page's settings: name -> its link field (default, parser)."""
    return BUILDERS[page]()


def parsers() -> dict[str, dict]:
    """Every page's settings as parsers of a link's text: what a lesson is checked against."""
    return {page: {name: f.parse for name, f in build().items()} for page, build in BUILDERS.items()}
