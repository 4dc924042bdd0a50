"""Page 5's tests of two claims in the seed answer to Q2.3, on the study's trained models (no training here):
"transformers ignore noisy details and are robust to distractions" and "CNNs need a fixed input size, transformers
handle any". Tables of measured accuracies and the verdict sentences built from them. No streamlit here."""
from __future__ import annotations

import pandas as pd
import torch

from lab.analyses.study import MODELS
from transformer import robustness as R
from transformer.data import digits_split, patchify
from transformer.model import PatchClassifier
from transformer.timing import LayerTimes, slope

MARGIN = 2.0  # points: a smaller difference between the models is called even
SHIFTS = (0, 1, 2)
DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1))  # right, left, down, up
CANVAS = 12
PLACEMENTS = {"centred": (2, 2), "top-left corner": (0, 0)}  # (top, left) of the 8x8 digit on the 12x12 canvas
OCCLUDER = 4  # side of the square whose attention share is measured


def trained_pairs(models: dict) -> dict[str, list]:
    """{"transformer": [...], "CNN": [...]}: the study's models trained on all the images, for the seeds both have,
    in seed order (so the two lists pair up seed by seed). ``models`` maps TrainConfig -> trained model."""
    full = {(c.model, c.seed): m for c, m in models.items() if c.train_fraction == 1.0 and m is not None}
    seeds = sorted({s for _, s in full} & {s for m, s in full if m == "cnn"} & {s for m, s in full if m != "cnn"})
    return {name: [full[(key, s)] for s in seeds] for key, name in MODELS.items()} if seeds else {}


def _validation():
    split = digits_split()
    return split.x_val, split.y_val


def perturbation_table(pairs: dict) -> pd.DataFrame:
    """One row per (model, kind, strength, seed): validation accuracy under that perturbation. Seed k's two models
    see the same perturbed digits."""
    images, labels = _validation()
    rows = []
    for name, models in pairs.items():
        for seed, model in enumerate(models):
            for curve in R.curves(model, images, labels, seed=1000 * seed):
                rows += [{"model": name, "kind": curve.kind, "strength": s, "seed": seed, "accuracy": a}
                         for s, a in zip(curve.strengths, curve.accuracy, strict=True)]
    return pd.DataFrame(rows)


def shift_table(pairs: dict) -> pd.DataFrame:
    """One row per (model, shift, seed): accuracy on the validation digits moved ``shift`` pixels, the mean of the
    four directions."""
    images, labels = _validation()
    rows = []
    for name, models in pairs.items():
        for seed, model in enumerate(models):
            for d in SHIFTS:
                acc = sum(R.accuracy(model, R.shift(images, dx * d, dy * d), labels) for dx, dy in DIRECTIONS) / 4
                rows.append({"model": name, "shift": d, "seed": seed, "accuracy": acc})
    return pd.DataFrame(rows)


def runs_as_trained(model, size: int) -> str | None:
    """None if the trained model, unchanged, accepts a size x size image; else the error it raises."""
    images = torch.zeros(1, size, size)
    try:
        with torch.no_grad():
            if isinstance(model, PatchClassifier):
                model(patchify(images, model.config.patch_size))
            else:
                model(images)
    except RuntimeError as err:
        return str(err).splitlines()[0]
    return None


def size_table(pairs: dict) -> pd.DataFrame:
    """One row per (model, placement, seed): accuracy at the trained 8x8 size and on the 12x12 canvas, run with the
    CNN's read-out slid over the larger grid and the transformer's position table interpolated."""
    images, labels = _validation()
    rows = []
    for name, models in pairs.items():
        for seed, model in enumerate(models):
            rows.append({"model": name, "placement": "8×8, as trained", "seed": seed,
                         "accuracy": R.accuracy(model, images, labels)})
            for place, (top, left) in PLACEMENTS.items():
                big = R.canvas(images, CANVAS, top, left)
                rows.append({"model": name, "placement": f"{CANVAS}×{CANVAS}, {place}", "seed": seed,
                             "accuracy": R.accuracy(model, big, labels)})
    return pd.DataFrame(rows)


def spread(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean, lowest and highest accuracy over the seeds for each group."""
    out = table.groupby(by, sort=False)["accuracy"].agg(mean="mean", low="min", high="max", seeds="count")
    return out.reset_index()


def _winner(transformer: float, cnn: float, margin: float = MARGIN) -> str:
    """Which model did better on a measure where higher is better: "transformer", "CNN" or "even"."""
    return "even" if abs(transformer - cnn) < margin else "transformer" if transformer > cnn else "CNN"


def losses(table: pd.DataFrame) -> pd.DataFrame:
    """Points of accuracy each model loses on average over the perturbed strengths (strength > 0) of each kind,
    against its own clean accuracy: columns kind, transformer, CNN."""
    means = spread(table, ["model", "kind", "strength"])
    clean = means[means["strength"] == 0].set_index(["model", "kind"])["mean"]
    hit = means[means["strength"] > 0].groupby(["model", "kind"], sort=False)["mean"].mean()
    lost = (100 * (clean - hit)).rename("lost").reset_index()
    return lost.pivot(index="kind", columns="model", values="lost").reindex(list(R.STRENGTHS)).reset_index()


def robustness_verdict(table: pd.DataFrame) -> str:
    """Which model holds up better under the perturbations, by how much, and what that says about the claim."""
    lost = losses(table)
    parts, wins = [], []
    for row in lost.itertuples():
        # fewer points lost is better, so the comparison is on the negated losses
        who = _winner(-row.transformer, -row.CNN)
        wins.append(who)
        how = (f"{row.kind}: the transformer loses {row.transformer:.1f} points on average, the CNN "
               f"{row.CNN:.1f}")
        parts.append(how + (" (even)" if who == "even" else f" (the {who} holds up better by "
                                                           f"{abs(row.transformer - row.CNN):.1f})"))
    detail = "; ".join(parts) + "."
    if all(w == "CNN" for w in wins):
        return ("**The claim fails here: the CNN is more robust than the transformer** under every perturbation. "
                + detail)
    if all(w == "transformer" for w in wins):
        return ("**The claim holds here: the transformer is more robust than the CNN** under every perturbation. "
                + detail)
    if all(w == "even" for w in wins):
        return (f"**Neither model is more robust here** (within {MARGIN:.0f} points under every perturbation). "
                + detail)
    better = {w for w in wins if w != "even"}
    side = (f"the {better.pop()} holds up better under some perturbations and the two are even under the others"
            if len(better) == 1 else "each model holds up better under a different perturbation")
    return f"**Mixed: {side}.** " + detail


def shift_verdict(table: pd.DataFrame) -> str:
    """How much of its accuracy each model keeps when the digit moves, and what that says about the table's
    "translation equivariance"."""
    means = spread(table, ["model", "shift"]).set_index(["model", "shift"])["mean"]
    cells = ", ".join(f"{d} pixel{'s' if d > 1 else ''}: transformer {means[('transformer', d)]:.0%}, CNN "
                      f"{means[('CNN', d)]:.0%}" for d in SHIFTS if d)
    who = _winner(100 * means[("transformer", 1)], 100 * means[("CNN", 1)])
    if who == "CNN":
        lead = ("**The CNN keeps more of its accuracy when the digit moves**: its convolutions are equivariant, "
                "so a moved stroke gives the same features, moved; its read-out still fixes positions, so it too "
                "falls. ")
    elif who == "transformer":
        lead = "**The transformer keeps more of its accuracy when the digit moves**, despite the CNN's convolutions. "
    else:
        lead = "**Both models lose about the same when the digit moves.** "
    return lead + f"Accuracy, the mean of four directions: {cells}."


def size_verdict(table: pd.DataFrame, errors: dict[str, str | None]) -> str:
    """What each model can do with a larger image, measured; the verdict on "transformers handle any size"."""
    means = spread(table, ["model", "placement"]).set_index(["model", "placement"])["mean"]
    centred = f"{CANVAS}×{CANVAS}, centred"
    t, c = means[("transformer", centred)], means[("CNN", centred)]
    as_is = ("Neither trained model runs on a larger image as it is"
             if errors.get("transformer") and errors.get("CNN") else
             "As trained, " + " and ".join(f"the {m} {'fails' if e else 'runs'}" for m, e in errors.items()))
    small_t, small_c = means[("transformer", "8×8, as trained")], means[("CNN", "8×8, as trained")]
    numbers = (f"{as_is}: each needs a change. With the CNN's read-out slid over the larger grid and the "
               f"transformer's position table interpolated, on the {CANVAS}×{CANVAS} canvas with the digit centred "
               f"the transformer keeps {t:.0%} and the CNN {c:.0%} (at 8×8: {small_t:.0%} and {small_c:.0%}).")
    who = _winner(100 * t, 100 * c)
    if who == "CNN":
        return ("**The claim fails here: the CNN handles the larger input better.** " + numbers + " The transformer's "
                "patches no longer line up with the strokes they learned, and positions it never saw are guesses.")
    if who == "transformer":
        return "**The claim holds here: the transformer handles the larger input better.** " + numbers
    return "**Neither handles the larger input better.** " + numbers


def attention_share(vits: list, side: int = OCCLUDER) -> tuple[float, float, float]:
    """(share of the class token's attention on the occluded area with the square, the same area's share on the
    clean digit, the area's share of the image), averaged over the validation digits and the seeds' transformers.
    Attention is the rollout through every layer, over the patches."""
    images, labels = _validation()
    after, before, area = [], [], []
    for seed, model in enumerate(vits):
        occluded, mask = R.perturb("occlusion", images, labels, side, 1000 * seed + 1)
        changed = R.patch_share(mask, model.config.patch_size)  # (N, P)
        a, share = R.attention_share(R.rollout_over_patches(model, occluded), changed)
        b, _ = R.attention_share(R.rollout_over_patches(model, images), changed)
        after.append(float(a.mean()))
        before.append(float(b.mean()))
        area.append(float(share.mean()))
    n = len(vits)
    return sum(after) / n, sum(before) / n, sum(area) / n


def attention_verdict(after: float, before: float, area: float, margin: float = 0.03) -> str:
    """Does the class token's attention move away from the occluding square? Built from the three shares."""
    numbers = (f"the occluded patches hold {area:.0%} of the area (counting each patch by the part covered); they "
               f"get {before:.0%} of the class token's attention on the clean digits and {after:.0%} with the square")
    if after < before - margin:
        return f"**Attention moves away from the occluder**: {numbers}."
    if after > before + margin:
        return (f"**Attention does not ignore the occluder; it moves towards it**: {numbers}. The square is bright "
                "ink, and attention follows ink.")
    return f"**Attention barely moves**: {numbers}."


FIT_FROM = 1024  # tokens: below this, fixed overheads hide how a layer's time grows


def slopes(times: LayerTimes, smallest: int = FIT_FROM) -> dict[str, float]:
    """Each layer's fitted log-log slope of time against tokens, over the sizes ≥ ``smallest``."""
    return {"attention": slope(times.sizes, times.attention, smallest),
            "convolution": slope(times.sizes, times.convolution, smallest)}


def cost_verdict(times: LayerTimes, smallest: int = FIT_FROM) -> str:
    """The fitted growth of each layer's time with the number of tokens, against the table's n² and n."""
    a, c = slopes(times, smallest).values()
    fits = (f"From {smallest} to {times.sizes[-1]} tokens, attention's time grows about as n^{a:.2f} and the "
            f"convolution's as n^{c:.2f}")
    if a - c >= 0.5:
        return (f"**The table's costs show on this machine**: {fits}; doubling the tokens multiplies attention's time "
                f"by about {2 ** a:.1f} and the convolution's by {2 ** c:.1f}.")
    return f"**The difference does not show in this range on this machine**: {fits}."


def example(vit: PatchClassifier, index: int = 0, side: int = OCCLUDER, seed: int = 1) -> dict:
    """One validation digit, clean and with an occluding square: both images (S, S), the class token's rollout over
    the patches (g, g) for each, and the occluded area's share of attention before and after and of the area."""
    images, labels = _validation()
    clean = images[index: index + 1]  # (1, S, S)
    occluded, mask = R.perturb("occlusion", clean, labels[index: index + 1], side, seed)
    p = vit.config.patch_size
    g = clean.shape[-1] // p
    changed = R.patch_share(mask, p)  # (1, P)
    maps = {name: R.rollout_over_patches(vit, x) for name, x in (("clean", clean), ("occluded", occluded))}
    after, area = R.attention_share(maps["occluded"], changed)
    before, _ = R.attention_share(maps["clean"], changed)
    return {"clean": clean[0].numpy(), "occluded": occluded[0].numpy(), "label": int(labels[index]),
            "maps": {k: v[0].reshape(g, g).numpy() for k, v in maps.items()},
            "after": float(after), "before": float(before), "area": float(area)}
