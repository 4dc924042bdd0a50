"""Generate: a GPT trained live writes token by token, with its sampling controls, each step's choice and attention,
its KV cache and what the cache saves, and what temperature does to the text."""
import streamlit as st

from lab import ui
from lab.ui import generate_panel, links, page_fields
from transformer import generate as gen

st.title("7. Generate")
st.caption("Every GPT writes the same way: read the text so far, turn the last position's scores into "
           "probabilities, draw one token, append it, repeat. Here a small GPT trained live on this server writes, "
           "and every step is kept to look at.")

link = links.Link("generate", page_fields.fields("generate"))


choice = st.radio("the model that writes", list(generate_panel.MODELS), format_func=generate_panel.MODELS.get,
                  index=link.index("model", generate_panel.MODELS), key="model", horizontal=True)
w = generate_panel.chosen(choice)
if w is None:
    link.publish(run=False)
    st.stop()
prompt_key = generate_panel.prompt_box(w, link)  # each kind of model keeps a prompt of its own

with st.container(border=True):
    typed = st.text_input(f"prompt: {w.hint}", key=prompt_key, max_chars=120)
    a, b = st.columns(2)
    temperature = a.slider("temperature", 0.0, 2.0, link["temperature"], 0.1, key="temperature")
    a.caption("Divides the scores before the softmax: below 1 sharpens the distribution, above 1 flattens it; "
              "0 always takes the likeliest token (greedy).")
    top_p = b.slider("top-p (1 = off)", 0.05, 1.0, link["top_p"], 0.05, key="top_p")
    b.caption("Keeps the fewest likeliest tokens whose probabilities add up to p, and draws among them.")
    c, d, e = st.columns(3)
    top_k = c.number_input("top-k (0 = off)", 0, 50, link["top_k"], key="top_k")
    c.caption("Keeps only the k likeliest tokens.")
    seed = d.number_input("seed", 0, 9999, link["seed"], key="seed")
    d.caption("The same seed writes the same text.")
    max_new = e.slider("new tokens at most", 1, 32, link["max_new"], key="max_new")
    e.caption(f"The model reads {w.context} tokens at most; it stops there"
              + (", or at the sentence's end." if w.kind == "language" else "."))
    pressed = st.button("Generate", type="primary", icon=":material/edit:")

settings = {"max_new": int(max_new), "temperature": float(temperature), "top_k": int(top_k) or None,
            "top_p": float(top_p) if top_p < 1 else None, "seed": int(seed)}
st.subheader("The text, token by token")
result = generate_panel.written(w, typed, settings, pressed, link["run"])
link.publish(run=bool(result and result[2]), prompt=typed)
if not result:
    if result is None:
        st.info("Press **Generate**. The prompt is in bold; each new token is drawn from the model's distribution.")
    ui.show_code(gen.stream, gen.step, gen.distribution)
    st.stop()
w, done, _ = result
st.caption(f"Blue: the token was drawn with probability {generate_panel.LIKELY:.0%} or more; orange: under "
           f"{generate_panel.UNLIKELY:.0%}; no colour: in between. Every probability is in the chart and the table "
           "below.")

st.subheader("Step by step: what it could have written, and where it looked")
generate_panel.explore(w, done)

st.subheader("The KV cache: why every GPT keeps one")
st.markdown("Without a cache, writing token *n* runs all *n* tokens through every layer again, though only the last "
            "one is new. With one, each layer keeps the keys and values it has computed, and a step runs only the "
            "new token, its query attending over the cached keys. The arithmetic is the same on fewer rows, so the "
            "text and its probabilities are identical: here "
            + ("the same tokens both ways." if done.again.tokens == done.made.tokens else
               "**the two ways differ: a bug.**"))
generate_panel.cost(done)

st.subheader("How does temperature change the text?")
generate_panel.temperature(w)
ui.show_code(gen.stream, gen.step, gen.distribution, gen.multiply_adds)
