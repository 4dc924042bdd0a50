"""Coursework Q3.2: train the patch classifier and compare accuracy and loss over 10, 30 and 50 epochs."""
import time
import uuid
from dataclasses import asdict

import pandas as pd
import streamlit as st

from lab import charts
from lab import links, ui
from lab.jobs import TrainingJob, plan
from transformer.train import RECORD_FIELDS, TrainConfig, train_classifier


st.title("4. Train a transformer classifier")
st.caption("Coursework Q3.2: train a transformer classifier and plot accuracy and loss against epochs for 10, 30 "
           "and 50 epochs. The model is a small Vision Transformer built from this package's attention.")
st.markdown(
    "**The task:** 1,797 handwritten digits, 8×8 pixels (UCI, shipped with the app), split 80/20 into 1,438 "
    "training and 359 validation images, the same split every time. Each image is cut into square patches; each "
    "patch becomes a token, a learned class token goes in front, and the class token's final vector is read out "
    "as 10 class scores."
)

MIN_LOOP_SECONDS = 0.5  # the progress bar moves at most twice a second (less often with many watching)
REDRAW_SECONDS = 1.0  # while training, curves are redrawn at most this often per session watching the run
LRS = [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 2e-2]
D = TrainConfig()

FRACTIONS = [0.05, 0.1, 0.25, 0.5, 1.0]
link = links.Link("training", {"epochs_a": links.Int(1, 100, 10), "epochs_b": links.Int(1, 100, 30), "epochs_c": links.Int(1, 100, 50),
                "lr": links.Choice(LRS, D.lr), "batch_size": links.Choice([16, 32, 64, 128, 256], D.batch_size),
                "schedule": links.Choice(["constant", "cosine"], D.schedule), "seed": links.Int(0, 9999, D.seed),
                "d_model": links.Choice([8, 12, 16, 24, 32, 48, 64], D.d_model), "n_heads": links.Choice([1, 2, 4, 8], D.n_heads),
                "n_layers": links.Choice([1, 2, 3, 4], D.n_layers), "patch": links.Choice([2, 4], D.patch_size),
                "fraction": links.Choice(FRACTIONS, 1.0), "cnn": links.Bool(False)})

PRESETS = {
    "10 / 30 / 50 epochs": ({"epochs_a": 10, "epochs_b": 30, "epochs_c": 50, "fraction": 1.0, "lr": D.lr,
                             "schedule": "constant"},
                            "The coursework's comparison. Look at how little the last 20 epochs add on validation."),
    "Overfitting": ({"epochs_a": 10, "epochs_b": 50, "epochs_c": 100, "fraction": 0.05, "lr": D.lr,
                     "schedule": "constant"},
                    "Only 5% of the training images (72 digits). Watch training accuracy reach 100% while validation "
                    "stalls far below, and validation loss turn upwards: the model memorises instead of learning."),
    "Learning rate too high": ({"epochs_a": 10, "epochs_b": 30, "epochs_c": 50, "fraction": 1.0, "lr": 2e-2,
                                "schedule": "constant"},
                               "Four times the default step size. Look for a bumpy loss and a lower plateau; then try "
                               "the cosine schedule, which shrinks the step as training goes on."),
}
st.markdown("**Presets**")
pcols = st.columns(len(PRESETS))
for col, (label, (values, what)) in zip(pcols, PRESETS.items()):
    with col:
        links.preset(label, values, help=what, key=f"preset_{label}")
chosen = next((label for label, (values, _) in PRESETS.items()
               if all(st.session_state.get(k, link[k]) == v for k, v in values.items())), None)
if chosen:
    st.caption(f"**{chosen}:** {PRESETS[chosen][1]}")

with st.form("settings"):
    st.markdown("**Runs to compare** (epochs; 1 to 100 each)")
    r1, r2, r3 = st.columns(3)
    e1 = r1.number_input("run A", 1, 100, link["epochs_a"], key="epochs_a")
    e2 = r2.number_input("run B", 1, 100, link["epochs_b"], key="epochs_b")
    e3 = r3.number_input("run C", 1, 100, link["epochs_c"], key="epochs_c")
    a, b, c, d = st.columns(4)
    lr = a.select_slider("learning rate", LRS, value=link["lr"], key="lr")
    batch_size = b.select_slider("batch size", [16, 32, 64, 128, 256], value=link["batch_size"], key="batch_size")
    schedule = c.radio("learning-rate schedule", ["constant", "cosine"], index=link.index("schedule", ["constant", "cosine"]),
                       key="schedule", horizontal=True, help="cosine: decays from the learning rate to 0 over each run")
    seed = d.number_input("seed", 0, 9999, link["seed"], key="seed")
    m1, m2, m3, m4, m5 = st.columns(5)
    d_model = m1.select_slider("d_model", [8, 12, 16, 24, 32, 48, 64], value=link["d_model"], key="d_model")
    n_heads = m2.select_slider("heads", [1, 2, 4, 8], value=link["n_heads"], key="n_heads")
    n_layers = m3.select_slider("layers", [1, 2, 3, 4], value=link["n_layers"], key="n_layers")
    patch = m4.select_slider("patch size", [2, 4], value=link["patch"], key="patch",
                             help="4: an 8×8 digit is 4 patches (+1 class token = 5 tokens); 2: 16 patches (17 tokens).")
    fraction = m5.select_slider("training images used", FRACTIONS, value=link["fraction"], key="fraction",
                                format_func=lambda f: f"{f:.0%}", help="Fewer images make overfitting easy to see.")
    with_cnn = st.checkbox("also train a CNN baseline (same split, epochs, optimiser and schedule; about as many "
                           "parameters)", value=link["cnn"], key="cnn")
    submitted = st.form_submit_button("Train", type="primary", icon=":material/play_arrow:")
link.publish()

if submitted:
    try:
        config = TrainConfig(epochs=max(e1, e2, e3), seed=int(seed), lr=float(lr), batch_size=int(batch_size),
                             schedule=schedule, d_model=int(d_model), n_heads=int(n_heads), n_layers=int(n_layers),
                             patch_size=int(patch), train_fraction=float(fraction))
        st.session_state["train_request"] = (sorted({int(e1), int(e2), int(e3)}), config, bool(with_cnn))
    except ValueError as err:
        st.error(f"These settings cannot train: {err}", icon=":material/error:")

request = st.session_state.get("train_request")
if request is None:
    st.info("Choose settings and press **Train**. With the defaults all three runs finish in a few seconds.")
    ui.show_code(train_classifier, TrainConfig)
    st.stop()


@st.cache_resource(max_entries=12, show_spinner=False)
def shared_job(key: str, _config: TrainConfig) -> TrainingJob:
    """One job per configuration for the whole server: a class pressing Train with the same settings trains once.
    (cache_resource, not cache_data: the value is a live, still-growing job, not a finished result to copy.)"""
    return TrainingJob(_config).start()


counts, base, with_cnn = request
configs = plan(counts, base)  # run length -> the config that trains it
cnn_config = base.replace(model="cnn", epochs=counts[-1]) if with_cnn else None
verify = base.schedule == "constant" and len(counts) > 1
if verify:  # train the shortest run on its own as well, to show it equals the start of the longest
    short_config = base.replace(epochs=counts[0])
kept = st.session_state.setdefault("finished_epochs", {})  # config key -> record dicts, survives reruns


def job_for(config: TrainConfig) -> TrainingJob:
    return shared_job(repr(config), config)


def records_of(config: TrainConfig, job: TrainingJob) -> list[dict]:
    """What this session has of the run: the job's records, or what it kept if the job has been evicted."""
    fresh = [r.as_dict() for r in job.records]
    old = kept.get(repr(config), [])
    best = fresh if len(fresh) >= len(old) else old
    kept[repr(config)] = best
    return best


@st.cache_data(max_entries=256, show_spinner=False)
def live_spec(key: str, epochs: int, _records: tuple) -> dict:
    """The live chart of one training at ``epochs`` finished epochs, built once and shared by every session
    watching it: a class of viewers costs the training thread one chart build per redraw, not thirty."""
    df = pd.DataFrame(list(_records))
    return charts.live_curves(df, title=f"Training {len(df)} epochs so far").to_dict(validate=False)


@st.cache_data(max_entries=64, show_spinner=False)
def final_specs(key: str, rows: int, _df: pd.DataFrame) -> tuple[dict, dict]:
    """The comparison charts of a finished request, shared by every session that shows it."""
    return (charts.training_curves(_df, "loss", title="Loss against epoch").to_dict(validate=False),
            charts.training_curves(_df, "acc", title="Accuracy against epoch").to_dict(validate=False))


def frame(runs: dict[int, list[dict]]) -> pd.DataFrame:
    rows = [dict(run=f"{n} epochs", **r) for n, recs in runs.items() for r in recs[:n]]
    return pd.DataFrame(rows, columns=["run", *RECORD_FIELDS])


trainings = list(dict.fromkeys(configs.values())) + ([short_config] if verify and short_config not in configs.values() else [])
trainings += [cnn_config] if cnn_config else []
total_epochs = sum(c.epochs for c in trainings)
if verify:
    st.info(f"Constant learning rate: the {', '.join(map(str, counts[:-1]))}-epoch run(s) are the first epochs of the "
            f"{counts[-1]}-epoch run (same seed, same batches, same steps), so one training of {counts[-1]} epochs "
            "gives every curve. The check below trains the shortest run on its own to show it.",
            icon=":material/info:")

progress = st.progress(0.0, text="starting…")
loss_box, acc_box = st.empty(), st.empty()

def follow(jobs: dict[TrainConfig, TrainingJob]) -> tuple[dict[int, list[dict]], pd.DataFrame]:
    """Show the jobs' progress until they end; return each requested run's records, and all of them as a table."""
    drawn_at, drawn_rows, loop_started = time.monotonic(), -1, time.monotonic()
    while True:
        records = {c: records_of(c, j) for c, j in jobs.items()}
        runs = {n: records[cfg] for n, cfg in configs.items()}
        done_epochs = sum(min(len(r), c.epochs) for c, r in records.items())
        active = next((j for j in jobs.values() if not j.done), None)
        if active is None or all(len(records[c]) >= c.epochs for c in jobs):
            df = frame(runs)
            loss_spec, acc_spec = final_specs(repr(request), len(df), df)
            ui.chart(loss_spec, into=loss_box)
            ui.chart(acc_spec, into=acc_box)
            progress.progress(1.0, text=f"done: {total_epochs} epochs trained")
            return runs, df
        # a light live chart of the run in progress; the more sessions watch, the less often it is redrawn
        live = records[active.config]
        every = REDRAW_SECONDS * max(1, len(active.watchers))
        if live and len(live) != drawn_rows and time.monotonic() - drawn_at > every:
            ui.chart(live_spec(repr(active.config), len(live), tuple(live)), into=loss_box)
            drawn_at, drawn_rows = time.monotonic(), len(live)
        last = f" · validation accuracy {live[-1]['val_acc']:.1%}" if live else ""
        progress.progress(done_epochs / total_epochs,
                          text=("waiting for another training on this server to finish…" if active.state == "queued"
                                else f"training: epoch {done_epochs} of {total_epochs}{last}"))
        # wake for the next epoch, but not too often: each pass sends this session's browser an update, and with
        # a class watching, those updates (not the training) would fill the server's cores
        pause = MIN_LOOP_SECONDS * max(1.0, len(active.watchers) / 2)
        time.sleep(max(0.0, loop_started + pause - time.monotonic()))
        active.wait(len(active.records), timeout=0.5)
        loop_started = time.monotonic()


jobs = {c: job_for(c) for c in trainings}
session = st.session_state.setdefault("session_id", uuid.uuid4().hex)
for job in jobs.values():
    job.watch(session)
try:
    runs, table = follow(jobs)
finally:  # also when a widget change stops this run of the script: the jobs go on without this viewer
    for job in jobs.values():
        job.unwatch(session)

failed = [j for j in jobs.values() if j.state == "failed"]
if failed:
    st.error(f"Training stopped with an error: {failed[0].error}. Try a smaller learning rate or model, or press Train again.")
    st.stop()

st.subheader("Final metrics")
final = pd.DataFrame([
    {"run": f"{n} epochs", "train loss": f"{recs[n - 1]['train_loss']:.4f}", "train accuracy": f"{recs[n - 1]['train_acc']:.2%}",
     "validation loss": f"{recs[n - 1]['val_loss']:.4f}", "validation accuracy": f"{recs[n - 1]['val_acc']:.2%}",
     "time taken (s)": f"{recs[n - 1]['seconds']:.2f}"}
    for n, recs in runs.items()]).set_index("run")
st.table(final)  # a static table: three rows need no interactive grid, and it is cheaper for every browser
st.caption("Time taken is wall-clock seconds from the start of the training that produced the run. Solid lines are "
           "training, dashed are validation; a widening gap between them is overfitting.")

if verify:
    short = records_of(short_config, jobs[short_config])
    long = runs[counts[-1]][: counts[0]]
    metrics = ["train_loss", "train_acc", "val_loss", "val_acc"]
    worst = max(abs(a[m] - b[m]) for a, b in zip(short, long) for m in metrics)
    if worst == 0.0:
        st.success(f"Checked: the {counts[0]}-epoch run trained on its own matches the first {counts[0]} epochs of "
                   f"the {counts[-1]}-epoch run exactly (largest difference in any metric: {worst}).",
                   icon=":material/check_circle:")
    else:
        st.warning(f"The {counts[0]}-epoch run trained on its own differs from the start of the longer run by up to "
                   f"{worst:.2e} (floating-point non-determinism on this machine).")

st.markdown("**Export for your report:** the comparison figure (loss and accuracy) and every epoch's numbers.")
ui.exports(charts.comparison_figure(table), "training_comparison", csv=table.to_csv(index=False).encode("utf-8"),
           svg=False)
with st.expander("Settings of this comparison"):
    st.json({"epochs per run": counts, **{k: v for k, v in asdict(base).items() if k != "epochs"}})
if cnn_config:
    st.subheader("Transformer and CNN compared")
    longest = counts[-1]
    cnn_records = records_of(cnn_config, jobs[cnn_config])
    both = pd.DataFrame([dict(model="transformer", **r) for r in runs[longest][:longest]]
                        + [dict(model="CNN", **r) for r in cnn_records])
    ui.chart(charts.model_comparison(both))
    vit, cnn = runs[longest][longest - 1], cnn_records[-1]
    gap = cnn["val_acc"] - vit["val_acc"]
    lead = ("The two end level." if abs(gap) < 1e-9 else
            f"Here {'the CNN' if gap > 0 else 'the transformer'} ends ahead by {abs(gap):.1%} of the validation digits.")
    st.markdown(
        f"After {longest} epochs: transformer **{vit['val_acc']:.1%}** validation accuracy in {vit['seconds']:.1f} s, "
        f"CNN **{cnn['val_acc']:.1%}** in {cnn['seconds']:.1f} s, with about the same number of parameters "
        f"(18,026 and 18,118 at the default sizes). {lead}")
    st.caption(
        "How to read it: the CNN is built to assume that nearby pixels belong together and that a stroke means the "
        "same wherever it is (locality, translation equivariance); the transformer has to learn such structure from "
        "1,438 small images, with 4×4 patches that are coarse tokens. With this little data the two end close, and "
        "which one leads depends on the seed and settings; with far more data, or pre-training, attention's "
        "flexibility pays off. Try another seed, or 5% of the images, to see how fragile a small gap is.")

st.subheader("Inside the trained model")
model = jobs[configs[counts[-1]]].model
look = st.toggle("look inside: attention on a digit, probabilities and the confusion matrix", key="look_inside",
                 help="Off by default: it adds six charts to the page.")
if not look:
    pass
elif model is None:
    st.info("The trained weights are no longer in memory (the server keeps the last few trainings). "
            "Press **Train** again to look inside the model.")
else:
    from transformer.analysis import class_token_attention, confusion_matrix, predict
    from transformer.data import digits_split, load_digits

    trained = configs[counts[-1]]
    pred = predict(model, trained)
    st.caption(f"The {counts[-1]}-epoch model. Validation digits it gets wrong: {len(pred.wrong)} of {len(pred.labels)}.")
    pick = st.radio("look at", ["a validation digit", "a misclassified one"], horizontal=True, key="pick_kind",
                    disabled=not pred.wrong)
    if pick == "a misclassified one" and pred.wrong:
        index = st.selectbox("misclassified digit", pred.wrong, key="pick_wrong",
                             format_func=lambda i: f"#{i}: a {int(pred.labels[i])} read as {int(pred.preds[i])}")
    else:
        index = st.number_input("validation digit number", 0, len(pred.labels) - 1, 0, key="pick_index")
    pixels = load_digits()[0][digits_split().val_index[index]] / 16.0  # (8, 8) in [0, 1]
    label, guess = int(pred.labels[index]), int(pred.preds[index])
    left, right = st.columns([1, 2])
    with left:
        ui.chart(charts.digit_image(pixels, title=f"digit #{index}: a {label}"))
    with right:
        ui.chart(charts.probability_bars(pred.probs[index].numpy(), label=label, pred=guess))
    verdict = "right" if label == guess else "wrong"
    st.markdown(f"The model reads it as **{guess}** ({verdict}), with probability {float(pred.probs[index, guess]):.1%}.")
    attention = class_token_attention(model, trained, index)  # (layers, heads, g, g)
    ui.chart(charts.attention_over_digit(pixels, attention.numpy()))
    st.caption(
        "Where the class token looks: each panel is one head in one layer, the digit in grey and each patch tinted "
        "orange by the class token's attention to it (what is left goes to the class token itself). Look for heads "
        "that pick out the strokes that tell this digit from its look-alikes (the loop of a 6, the bar of a 7), and "
        "for heads in the last layer that look almost everywhere: they gather what the first layer found.")
    ui.chart(charts.confusion_chart(confusion_matrix(pred.preds, pred.labels).numpy()))
    st.caption("Rows are the true digit, columns the prediction; the diagonal counts the right answers. "
               "Bright cells off the diagonal are the pairs the model confuses.")

ui.show_code(train_classifier, TrainConfig)
