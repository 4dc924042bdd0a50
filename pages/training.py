"""Coursework Q3.2: train the patch classifier and compare accuracy and loss over 10, 30 and 50 epochs."""
import time
from dataclasses import asdict

import pandas as pd
import streamlit as st

import charts
import ui
from jobs import TrainingJob, plan
from transformer.train import RECORD_FIELDS, TrainConfig, train_classifier

ui.set_torch_threads()

st.title("4. Train a transformer classifier")
st.caption("Coursework Q3.2: train a transformer classifier and plot accuracy and loss against epochs for 10, 30 "
           "and 50 epochs. The model is a small Vision Transformer built from this package's attention.")
st.markdown(
    "**The task:** 1,797 handwritten digits, 8×8 pixels (UCI, shipped with the app), split 80/20 into 1,438 "
    "training and 359 validation images, the same split every time. Each image is cut into square patches; each "
    "patch becomes a token, a learned class token goes in front, and the class token's final vector is read out "
    "as 10 class scores."
)

REDRAW_SECONDS = 0.4
LRS = [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 2e-2]
D = TrainConfig()

with st.form("settings"):
    st.markdown("**Runs to compare** (epochs; 1 to 100 each)")
    r1, r2, r3 = st.columns(3)
    e1 = r1.number_input("run A", 1, 100, 10, key="epochs_a")
    e2 = r2.number_input("run B", 1, 100, 30, key="epochs_b")
    e3 = r3.number_input("run C", 1, 100, 50, key="epochs_c")
    a, b, c, d = st.columns(4)
    lr = a.select_slider("learning rate", LRS, value=D.lr, key="lr")
    batch_size = b.select_slider("batch size", [16, 32, 64, 128, 256], value=D.batch_size, key="batch_size")
    schedule = c.radio("learning-rate schedule", ["constant", "cosine"], key="schedule", horizontal=True,
                       help="cosine: decays from the learning rate to 0 over each run")
    seed = d.number_input("seed", 0, 9999, D.seed, key="seed")
    m1, m2, m3, m4 = st.columns(4)
    d_model = m1.select_slider("d_model", [8, 12, 16, 24, 32, 48, 64], value=D.d_model, key="d_model")
    n_heads = m2.select_slider("heads", [1, 2, 4, 8], value=D.n_heads, key="n_heads")
    n_layers = m3.select_slider("layers", [1, 2, 3, 4], value=D.n_layers, key="n_layers")
    patch = m4.select_slider("patch size", [2, 4], value=D.patch_size, key="patch",
                             help="4: an 8×8 digit is 4 patches (+1 class token = 5 tokens); 2: 16 patches (17 tokens).")
    submitted = st.form_submit_button("Train", type="primary", icon=":material/play_arrow:")

if submitted:
    try:
        config = TrainConfig(epochs=max(e1, e2, e3), seed=int(seed), lr=float(lr), batch_size=int(batch_size),
                             schedule=schedule, d_model=int(d_model), n_heads=int(n_heads), n_layers=int(n_layers),
                             patch_size=int(patch))
        st.session_state["train_request"] = (sorted({int(e1), int(e2), int(e3)}), config)
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


counts, base = request
configs = plan(counts, base)  # run length -> the config that trains it
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


def frame(runs: dict[int, list[dict]]) -> pd.DataFrame:
    rows = [dict(run=f"{n} epochs", **r) for n, recs in runs.items() for r in recs[:n]]
    return pd.DataFrame(rows, columns=["run", *RECORD_FIELDS])


trainings = list(dict.fromkeys(configs.values())) + ([short_config] if verify and short_config not in configs.values() else [])
total_epochs = sum(c.epochs for c in trainings)
if configs[counts[-1]].schedule == "constant" and len(counts) > 1:
    st.info(f"Constant learning rate: the {', '.join(map(str, counts[:-1]))}-epoch run(s) are the first epochs of the "
            f"{counts[-1]}-epoch run (same seed, same batches, same steps), so one training of {counts[-1]} epochs "
            "gives every curve. The check below trains the shortest run on its own to show it.",
            icon=":material/info:")

progress = st.progress(0.0, text="starting…")
status = st.empty()
loss_box, acc_box = st.empty(), st.empty()

jobs = {c: job_for(c) for c in trainings}
drawn_at, drawn_rows = 0.0, -1
while True:
    records = {c: records_of(c, j) for c, j in jobs.items()}
    runs = {n: records[cfg] for n, cfg in configs.items()}
    df = frame(runs)
    done_epochs = sum(min(len(r), c.epochs) for c, r in records.items())
    active = next((j for j in jobs.values() if not j.done), None)
    finished = active is None or all(len(records[c]) >= c.epochs for c in jobs)
    # redraw at most a few times a second: building a chart takes the GIL from the training thread
    if len(df) != drawn_rows and (finished or time.monotonic() - drawn_at > REDRAW_SECONDS):
        with loss_box:
            ui.chart(charts.training_curves(df, "loss", title="Loss against epoch"))
        with acc_box:
            ui.chart(charts.training_curves(df, "acc", title="Accuracy against epoch"))
        drawn_at, drawn_rows = time.monotonic(), len(df)
    if finished:
        progress.progress(1.0, text=f"done: {total_epochs} epochs trained")
        break
    queued = active.state == "queued"
    progress.progress(done_epochs / total_epochs,
                      text=("waiting for another training on this server to finish…" if queued
                            else f"training: epoch {done_epochs} of {total_epochs}"))
    active.wait(len(active.records), timeout=0.5)

failed = [j for j in jobs.values() if j.state == "failed"]
if failed:
    st.error(f"Training stopped with an error: {failed[0].error}. Try a smaller learning rate or model, or press Train again.")
    st.stop()

st.subheader("Final metrics")
final = pd.DataFrame([
    {"run": f"{n} epochs", "train loss": recs[n - 1]["train_loss"], "train accuracy": recs[n - 1]["train_acc"],
     "validation loss": recs[n - 1]["val_loss"], "validation accuracy": recs[n - 1]["val_acc"],
     "time taken (s)": recs[n - 1]["seconds"]}
    for n, recs in runs.items()])
st.dataframe(final, hide_index=True, width="stretch", column_config={
    "train accuracy": st.column_config.NumberColumn(format="percent"),
    "validation accuracy": st.column_config.NumberColumn(format="percent"),
    "train loss": st.column_config.NumberColumn(format="%.4f"),
    "validation loss": st.column_config.NumberColumn(format="%.4f"),
    "time taken (s)": st.column_config.NumberColumn(format="%.2f")})
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

st.download_button("Download all records (CSV)", frame(runs).to_csv(index=False).encode("utf-8"),
                   file_name="training_records.csv", mime="text/csv", icon=":material/download:")
with st.expander("Settings of this comparison"):
    st.json({"epochs per run": counts, **{k: v for k, v in asdict(base).items() if k != "epochs"}})
ui.show_code(train_classifier, TrainConfig)
