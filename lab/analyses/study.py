"""The data-efficiency study on page 5 (Q2.3), as plain Python: the transformer and the CNN baseline trained on a
growing share of the training images, several seeds each, and the conclusion built from what was measured.
No streamlit here."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from lab.server.requests import Bar, Progress, changes, progress_of
from transformer.train import TrainConfig

SHARES = (0.05, 0.1, 0.25, 0.5, 1.0)
MODELS = {"transformer": "transformer", "cnn": "CNN"}


@dataclass(frozen=True)
class StudyRequest:
    """Both models at every share of the training images, ``seeds`` seeds each, ``epochs`` epochs (default
    settings otherwise): 2 x 5 x seeds trainings through the shared job machinery."""

    seeds: int = 3
    epochs: int = 50
    shares: tuple[float, ...] = SHARES
    shrink = "fewer seeds per point"  # the page's only control

    @property
    def bounded(self) -> bool:
        """The study at its defaults is the page's main evidence, trained once per server and shared by everyone
        who asks: it always runs, even on a shared server. More seeds are bounded like any other request."""
        return self != StudyRequest()

    def trainings(self) -> list[TrainConfig]:
        return [TrainConfig(model=m, train_fraction=s, seed=k, epochs=self.epochs)
                for m in MODELS for s in self.shares for k in range(self.seeds)]

    def settings(self) -> dict:
        return {"seeds": self.seeds, "epochs": self.epochs, "shares": self.shares}

    def differences(self, other: StudyRequest) -> list[str]:
        return changes(self.settings(), other.settings())

    def snapshot(self, jobs: dict) -> StudySnapshot:
        finished = [(c, j.records[-1]) for c, j in jobs.items() if j.done and j.records]
        bars = [Bar(f"{name} runs", sum(1 for c, _ in finished if c.model == m), len(self.shares) * self.seeds,
                    unit="run") for m, name in MODELS.items()]
        rows = [{"model": MODELS[c.model], "share": c.train_fraction, "seed": c.seed, "val_acc": r.val_acc,
                 "cpu_seconds": r.cpu_seconds} for c, r in finished]
        return StudySnapshot(**progress_of(jobs, bars), results=pd.DataFrame(
            rows, columns=["model", "share", "seed", "val_acc", "cpu_seconds"]))


@dataclass
class StudySnapshot(Progress):
    results: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per finished training


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Mean, lowest and highest validation accuracy and the mean CPU time per (model, share)."""
    grouped = results.groupby(["model", "share"])
    out = grouped["val_acc"].agg(mean="mean", low="min", high="max", runs="count")
    out["cpu_seconds"] = grouped["cpu_seconds"].mean()
    return out.reset_index()


def table(results: pd.DataFrame) -> pd.DataFrame:
    """The study as students read it: a row per share, mean and range for each model, and the CNN's lead."""
    s = summary(results).set_index(["share", "model"])
    rows = []
    for share in sorted({i[0] for i in s.index}):
        row = {"training images": f"{share:.0%}"}
        for name in MODELS.values():
            if (share, name) in s.index:
                r = s.loc[(share, name)]
                row[name] = f"{r['mean']:.1%} ({r['low']:.1%}–{r['high']:.1%})"
        if all((share, n) in s.index for n in MODELS.values()):
            lead = s.loc[(share, "CNN"), "mean"] - s.loc[(share, "transformer"), "mean"]
            row["CNN lead (points)"] = f"{100 * lead:+.1f}"
        rows.append(row)
    return pd.DataFrame(rows)


def conclusion(results: pd.DataFrame) -> str:
    """The reading of the study, built from its numbers, including where they disagree with the textbook."""
    s = summary(results).set_index(["share", "model"])["mean"]
    shares = sorted({i[0] for i in s.index if (i[0], "CNN") in s.index and (i[0], "transformer") in s.index})
    if len(shares) < 2:
        return ""
    lead = {sh: 100 * (s[(sh, "CNN")] - s[(sh, "transformer")]) for sh in shares}

    def say(sh: float) -> str:
        d = lead[sh]
        who = "the CNN leads" if d > 0 else "the transformer leads" if d < 0 else "the two tie"
        return f"with {sh:.0%} of the images {who}" + (f" by {abs(d):.1f} points" if d else "")

    first, last = shares[0], shares[-1]
    text = f"Measured: {say(first)}; {say(last)}."
    if lead[first] > 0 and lead[first] > lead[last]:
        text += (" As the textbook expects, the CNN's built-in assumptions (locality, translation equivariance) are "
                 "worth most when images are few, and the gap narrows as data grows.")
    elif lead[first] <= 0:
        text += (" This disagrees with the textbook, which expects the CNN's assumptions to help most with little "
                 "data: on these tiny 8×8 digits the transformer does not fall behind when data is scarce.")
    else:
        text += (" The textbook expects the gap to narrow with more data; on this range of data it does not, so the "
                 "CNN's assumptions keep paying off on these small images.")
    return text


def seed_spread(results: pd.DataFrame, share: float) -> tuple[float, float] | None:
    """(the share of images measured nearest ``share``, the largest gap between the transformer's seeds there), from
    the study's results; None before the study has any."""
    rows = results[results.model == MODELS["transformer"]]
    if rows.empty:
        return None
    nearest = min(set(rows.share), key=lambda s: abs(s - share))
    accs = rows[rows.share == nearest].val_acc
    return (float(nearest), float(accs.max() - accs.min())) if len(accs) > 1 else None
