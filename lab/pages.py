"""The one list of the app's pages: ``app.py``'s navigation, the home page, the browser test, the screenshot
script and the benchmarks all read it. No streamlit here."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    path: str  # the page's script, relative to the project root
    title: str  # in the sidebar
    icon: str  # a Material icon name, as st.Page takes it
    section: str  # the sidebar heading ("" for none)
    question: str  # the coursework question it answers ("" for the home page)
    summary: str  # one or two sentences for the home page

    @property
    def url_path(self) -> str:
        """The path in the address bar: Streamlit names a page after its file ("" for the default page)."""
        return "" if self is PAGES[0] else self.path.rsplit("/", 1)[-1].removesuffix(".py")


PAGES: list[PageInfo] = [
    PageInfo("views/home.py", "Home", ":material/home:", "", "", ""),
    PageInfo("views/lessons.py", "Lessons", ":material/school:", "", "",
             "Walk the coursework in order: at each step, predict first, then the page computes the answer."),
    PageInfo("views/shapes.py", "1. Shapes", ":material/straighten:", "Attention", "Q1 · Shapes",
             "X is [768, 6] and W^Q, W^K, W^V are [768, 768]: what are Q, K, V and Attention(Q, K, V)? "
             "The derivation, a shape diagram, the common QKᵀ slip, and what attention costs."),
    PageInfo("views/self_attention.py", "2. Self-attention step by step", ":material/footprint:", "Attention",
             "Q2.1 · Self-attention in five steps",
             "Project to Q, K, V; score; divide by √d_k and softmax; weight the values; sum. On a sentence you type, "
             "with every number shown."),
    PageInfo("views/multi_head.py", "3. Multi-head attention", ":material/view_module:", "Attention",
             "Q3.1 · Multi-head attention with einsum",
             "The shapes of tokens, qis_mh, attmat_mh, zis_mh and zis; per-head attention maps; a check against "
             "torch.nn.MultiheadAttention."),
    PageInfo("views/training.py", "4. Train a classifier", ":material/model_training:", "Transformers",
             "Q3.2 · Train a transformer classifier",
             "A small Vision Transformer on handwritten digits: accuracy and loss against epochs for 10, 30 and 50 "
             "epochs."),
    PageInfo("views/why_attention.py", "5. Why attention", ":material/lightbulb:", "Transformers",
             "Q2.2 and Q2.3 · Applications, and transformers vs CNNs",
             "Where self-attention is used, and receptive field against depth for attention and convolution."),
    PageInfo("views/attention_learns.py", "6. Watch attention learn", ":material/visibility:", "Transformers",
             "Beyond the coursework · Watch attention learn in a GPT",
             "A GPT-style decoder (the causal block, checked against nn.TransformerEncoderLayer) trained live to "
             "reverse, sort or copy digits: scrub its attention from noise to the learned pattern, measured per head."),
    PageInfo("views/generate.py", "7. Generate", ":material/edit_note:", "Transformers",
             "Beyond the coursework · A GPT that writes",
             "The GPT trained live writes token by token: temperature, top-k and top-p, each step's next-token "
             "choice and attention, the KV cache and what it saves, and what temperature does to the text."),
]
