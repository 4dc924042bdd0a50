"""Page 4's orchestration, as plain Python: what a press of Train asks for, which trainings serve it, how far
each requested run has got, and the sentences that sum up the results (built from the numbers). What the three
training pages share (progress, following a request, the estimate and the bound) is in ``lab.server.requests``.
No streamlit here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import pandas as pd

from lab.analyses import comparison
from lab.server.jobs import TrainingJob
from lab.server.requests import Bar, Progress, changes, progress_of
from transformer.train import RECORD_FIELDS, TrainConfig

MAX_EPOCHS = 100
_D = TrainConfig()

# What the training form offers: each list is used by the widget and by the shareable link alike.
OPTIONS = {
    "lr": [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 2e-2, 5e-2, 1e-1],
    "batch_size": [16, 32, 64, 128, 256],
    "schedule": ["constant", "cosine"],
    "d_model": [8, 12, 16, 24, 32, 48, 64],
    "n_heads": [1, 2, 4, 8],
    "n_layers": [1, 2, 3, 4],
    "patch": [2, 4],
    "fraction": [0.05, 0.1, 0.25, 0.5, 1.0],
}
DEFAULTS = {"epochs_a": 10, "epochs_b": 30, "epochs_c": 50, "lr": _D.lr, "batch_size": _D.batch_size,
            "schedule": _D.schedule, "seed": _D.seed, "d_model": _D.d_model, "n_heads": _D.n_heads,
            "n_layers": _D.n_layers, "patch": _D.patch_size, "fraction": _D.train_fraction, "cnn": False}

# each control's label, by its name in the link (and in a teacher's ``only=``)
LABELS = {"presets": "the presets", "epochs_a": "run A (epochs)", "epochs_b": "run B (epochs)",
          "epochs_c": "run C (epochs)", "seed": "seed", "lr": "learning rate", "batch_size": "batch size",
          "schedule": "learning-rate schedule", "fraction": "training images used", "d_model": "d_model",
          "n_heads": "heads", "n_layers": "layers", "patch": "patch size", "cnn": "the CNN baseline"}

# Each preset's values and what to look for. The settings were chosen by measurement: at a learning rate of 5e-2
# the default model ends near 80% validation accuracy after 50 epochs (74% after 10), against 96.7% at 5e-3.
PRESETS = {
    "10 / 30 / 50 epochs": ({"epochs_a": 10, "epochs_b": 30, "epochs_c": 50, "fraction": 1.0, "lr": _D.lr,
                             "schedule": "constant"},
                            "The coursework's comparison. Look at how little the last 20 epochs add on validation."),
    "Overfitting": ({"epochs_a": 10, "epochs_b": 50, "epochs_c": 100, "fraction": 0.05, "lr": _D.lr,
                     "schedule": "constant"},
                    "Only 5% of the training images (72 digits). Watch training accuracy reach 100% while validation "
                    "stalls far below, and validation loss turn upwards: the model memorises instead of learning."),
    "Learning rate too high": ({"epochs_a": 10, "epochs_b": 30, "epochs_c": 50, "fraction": 1.0, "lr": 5e-2,
                                "schedule": "constant"},
                               "Ten times the default step size (5e-2). Look for a loss that jumps about and a "
                               "validation accuracy well below the default's 97%; then try the cosine schedule, "
                               "which shrinks the step as training goes on."),
}


def plan(epoch_counts: list[int] | tuple[int, ...], base: TrainConfig) -> dict[int, TrainConfig]:
    """The training each requested run needs: with a constant learning rate one run of the longest length
    serves every shorter one (its first epochs are the same computation), so only that one trains."""
    counts = sorted(set(epoch_counts))
    if base.schedule == "constant":
        longest = replace(base, epochs=counts[-1])
        return {n: longest for n in counts}
    return {n: replace(base, epochs=n) for n in counts}


@dataclass(frozen=True)
class TrainingRequest:
    """What one press of Train asks for: runs of ``counts`` epochs with the settings of ``base``, and maybe the
    CNN baseline for the longest run."""

    counts: tuple[int, ...]  # sorted, distinct
    base: TrainConfig  # epochs = the longest run
    cnn: bool = False

    @classmethod
    def from_settings(cls, epochs, cnn: bool = False, **settings) -> TrainingRequest:
        """ValueError with a student-readable message for settings that cannot train."""
        counts = tuple(sorted({int(e) for e in epochs}))
        if not counts or counts[0] < 1 or counts[-1] > MAX_EPOCHS:
            raise ValueError(f"each run needs 1 to {MAX_EPOCHS} epochs, got {list(epochs)}.")
        return cls(counts, TrainConfig(epochs=counts[-1], **settings), bool(cnn))

    @classmethod
    def from_form(cls, values: dict) -> TrainingRequest:
        """From the training form's values (widget names as in ``DEFAULTS``)."""
        return cls.from_settings(
            (values["epochs_a"], values["epochs_b"], values["epochs_c"]), cnn=values["cnn"], seed=int(values["seed"]),
            lr=float(values["lr"]), batch_size=int(values["batch_size"]), schedule=values["schedule"],
            d_model=int(values["d_model"]), n_heads=int(values["n_heads"]), n_layers=int(values["n_layers"]),
            patch_size=int(values["patch"]), train_fraction=float(values["fraction"]))

    @property
    def longest(self) -> int:
        return self.counts[-1]

    @property
    def configs(self) -> dict[int, TrainConfig]:
        return plan(self.counts, self.base)

    @property
    def verify(self) -> bool:
        """With a constant rate the shorter runs are read off the longest; the shortest is also trained on its own
        to show that it matches."""
        return self.base.schedule == "constant" and len(self.counts) > 1

    @property
    def check_config(self) -> TrainConfig | None:
        return replace(self.base, epochs=self.counts[0]) if self.verify else None

    @property
    def cnn_config(self) -> TrainConfig | None:
        return replace(self.base, model="cnn", epochs=self.longest) if self.cnn else None

    def trainings(self) -> list[TrainConfig]:
        """Every distinct training this request needs, in the order they are queued."""
        wanted = list(self.configs.values()) + [self.check_config, self.cnn_config]
        return list(dict.fromkeys(c for c in wanted if c is not None))

    def snapshot(self, jobs: dict[TrainConfig, TrainingJob]) -> Snapshot:
        return snapshot(self, jobs)

    # what a student can shrink on page 4 when a shared server refuses the request (only controls the page has)
    shrink = "fewer epochs, a smaller d_model or fewer layers, fewer training images, or no CNN baseline"

    def settings(self) -> dict:
        return {"epochs per run": list(self.counts), "CNN baseline": self.cnn,
                **{k: v for k, v in asdict(self.base).items() if k not in ("epochs", "model")}}

    def differences(self, other: TrainingRequest) -> list[str]:
        return changes(self.settings(), other.settings())


@dataclass
class Snapshot(Progress):
    """The training page's progress: each requested run's records so far, the check run's and the CNN's."""

    runs: dict[int, list[dict]] = field(default_factory=dict)
    check: list[dict] = field(default_factory=list)
    cnn: list[dict] = field(default_factory=list)


def snapshot(request: TrainingRequest, jobs: dict[TrainConfig, TrainingJob]) -> Snapshot:
    records = {c: [r.as_dict() for r in j.records] for c, j in jobs.items()}
    runs = {n: records[c][:n] for n, c in request.configs.items()}
    bars = [Bar(f"{n}-epoch run", len(runs[n]), n) for n in request.counts]
    check = records.get(request.check_config, []) if request.verify else []
    if request.verify:
        bars.append(Bar(f"check: the {request.counts[0]}-epoch run trained on its own", len(check), request.counts[0]))
    cnn = records.get(request.cnn_config, []) if request.cnn else []
    if request.cnn:
        bars.append(Bar("CNN baseline", len(cnn), request.longest))
    return Snapshot(**progress_of(jobs, bars), runs=runs, check=check, cnn=cnn)


def live_frame(snap: Progress, request: TrainingRequest) -> tuple[pd.DataFrame, str]:
    """The live chart's data and title for the training in progress. Its records are the data, so the chart of one
    training is never shown for another at the same epoch (another learning rate or seed); identical trainings
    share one spec in the chart cache."""
    check = " (the check run)" if snap.live == request.check_config and snap.live.model != "cnn" else ""
    return (pd.DataFrame(snap.live_records, columns=list(RECORD_FIELDS)),
            f"Training the {snap.live.epochs}-epoch {snap.live.model}{check}: curves up to epoch "
            f"{len(snap.live_records)}")


# ------------------------------------------------------------------ reading the results
def frame(runs: dict[int, list[dict]]) -> pd.DataFrame:
    """Every requested run's records in one table: a row per (run, epoch)."""
    rows = [dict(run=f"{n} epochs", **r) for n, recs in runs.items() for r in recs[:n]]
    return pd.DataFrame(rows, columns=["run", *RECORD_FIELDS])


def final_metrics(runs: dict[int, list[dict]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "run": f"{n} epochs",
                "train loss": f"{r[n - 1]['train_loss']:.4f}",
                "train accuracy": f"{r[n - 1]['train_acc']:.2%}",
                "validation loss": f"{r[n - 1]['val_loss']:.4f}",
                "validation accuracy": f"{r[n - 1]['val_acc']:.2%}",
                "CPU time (s)": f"{r[n - 1]['cpu_seconds']:.2f}",
            }
            for n, r in runs.items()
        ]
    ).set_index("run")


def check_difference(snap: Snapshot, request: TrainingRequest) -> float:
    """Largest difference in any metric between the shortest run trained on its own and the start of the longest."""
    short, long = snap.check, snap.runs[request.longest][: request.counts[0]]
    metrics = ["train_loss", "train_acc", "val_loss", "val_acc"]
    return max(abs(a[m] - b[m]) for a, b in zip(short, long, strict=True) for m in metrics)


def epoch_one_note(runs: dict[int, list[dict]]) -> str:
    """Why training accuracy can start below validation accuracy, with this run's own numbers."""
    first = next(iter(runs.values()))[0]
    gap = "below" if first["train_acc"] < first["val_acc"] else "above"
    return (
        f"Training accuracy is averaged over each epoch's batches while the model is still improving; validation "
        f"accuracy is measured once, after the epoch. So at epoch 1 training accuracy ({first['train_acc']:.1%}) "
        f"is {gap} validation accuracy ({first['val_acc']:.1%}), and the two curves compare fairly only once "
        "learning slows."
    )


def comparison_sentence(vit: dict, cnn: dict, epochs: int) -> str:
    """The transformer-vs-CNN result in words, from the two final records (CPU time: the same work counted the
    same way, however busy the server was while each trained)."""
    gap = cnn["val_acc"] - vit["val_acc"]
    leader = "the CNN" if gap > 0 else "the transformer"
    if abs(gap) < 1e-9:
        lead = "The two end level on the validation digits."
    elif abs(gap) < 0.01:
        lead = (f"Here {leader} ends ahead by {abs(gap):.1%} of the validation digits (one digit is 0.3%): a gap "
                "this small can flip with the seed.")
    else:
        lead = f"Here {leader} ends ahead by {abs(gap):.1%} of the validation digits."
    return (
        f"After {epochs} epochs: transformer **{vit['val_acc']:.1%}** validation accuracy, CNN "
        f"**{cnn['val_acc']:.1%}**. {lead} CPU time each training used (its own thread, so other work on the "
        f"server does not inflate it): transformer {vit['cpu_seconds']:.1f} s, CNN {cnn['cpu_seconds']:.1f} s."
    )


# ------------------------------------------------------------------ pinned runs (lab.analyses.comparison)
def pin_of(request: TrainingRequest) -> dict:
    """What a pin keeps of a finished request: its longest run's epochs and every setting of the model and its
    training."""
    b = request.base
    return {"epochs": request.longest, "lr": b.lr, "batch_size": b.batch_size, "schedule": b.schedule,
            "d_model": b.d_model, "n_heads": b.n_heads, "n_layers": b.n_layers, "patch": b.patch_size,
            "fraction": b.train_fraction, "seed": b.seed}


def pin_config(pin: dict) -> TrainConfig:
    """The pin's training: the longest run of the request it came from (the transformer)."""
    values = {**pin, "epochs_a": pin["epochs"], "epochs_b": pin["epochs"], "epochs_c": pin["epochs"], "cnn": False}
    request = TrainingRequest.from_form(values)
    return request.configs[request.longest]


PIN_KEYS = ("epochs", "lr", "batch_size", "schedule", "d_model", "n_heads", "n_layers", "patch", "fraction", "seed")
PINS = comparison.PinSpec(
    defaults={"epochs": DEFAULTS["epochs_c"], **{k: DEFAULTS[k] for k in PIN_KEYS[1:]}},
    parsers={"epochs": comparison.integer(1, MAX_EPOCHS), "seed": comparison.integer(0, 9999),
             **{k: comparison.choice(OPTIONS[k]) for k in PIN_KEYS[1:-1]}},
    names={"epochs": "epochs", "lr": "lr", "batch_size": "batch", "schedule": "schedule", "d_model": "d_model",
           "n_heads": "heads", "n_layers": "layers", "patch": "patch", "fraction": "share of images", "seed": "seed"},
    config=pin_config, x="epoch", accuracy=lambda r: r.val_acc, loss=lambda r: r.val_loss,
    accuracy_name="validation accuracy", loss_name="validation loss", formats={"fraction": lambda v: f"{v:.0%}"})
