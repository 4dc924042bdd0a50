"""Inside a trained classifier: predictions on the validation set, the confusion matrix, where the class token
looks in a digit (its attention over the patches, per layer and head), and attention rollout through all layers."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .data import N_CLASSES
from .model import PatchClassifier
from .train import Classifier, TrainConfig, training_data


@dataclass(frozen=True)
class Predictions:
    probs: Tensor  # (N_val, n_classes) softmax probabilities
    preds: Tensor  # (N_val,) predicted class
    labels: Tensor  # (N_val,) true class

    @property
    def wrong(self) -> list[int]:
        """Validation indices the model gets wrong."""
        return torch.nonzero(self.preds != self.labels).flatten().tolist()


@torch.no_grad()
def predict(model: Classifier, config: TrainConfig) -> Predictions:
    """The model's class probabilities for every validation digit."""
    model.eval()
    _, _, x_val, y_val = training_data(config)
    probs = model(x_val).softmax(-1)  # (N_val, n_classes)
    return Predictions(probs, probs.argmax(-1), y_val)


def confusion_matrix(preds: Tensor, labels: Tensor, n_classes: int = N_CLASSES) -> Tensor:
    """(true class, predicted class) counts: row i, column j = digits of class i predicted as j."""
    return torch.bincount(labels * n_classes + preds, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


@torch.no_grad()
def class_token_attention(model: PatchClassifier, config: TrainConfig, index: int) -> Tensor:
    """(layers, heads, g, g): how much the class token attends to each of the g x g patches of validation digit
    ``index``, in every layer and head. The rest of each row (up to 1) is attention to the class token itself."""
    _, _, x_val, _ = training_data(config)
    if not 0 <= index < len(x_val):
        raise ValueError(f"index must be between 0 and {len(x_val) - 1}, got {index}.")
    _, maps = model.attention_maps(x_val[index : index + 1])  # each (1, n_heads, 1 + P, 1 + P)
    g = config.model_config().image_size // config.patch_size
    # the class token's query row over the patch keys
    cls_rows = torch.stack([m[0, :, 0, 1:] for m in maps])  # (layers, n_heads, P)
    return cls_rows.reshape(len(maps), -1, g, g)  # (layers, n_heads, g, g), patches in reading order


def attention_rollout(maps: Tensor) -> Tensor:
    """Attention rollout (Abnar & Zuidema, 2020): (layers, heads, T, T) attention -> (T, T), how much each input
    token reaches each output token through the whole network. Each layer's head-averaged attention gets the
    identity added for the residual path and its rows renormalised, Â = (A + I) / 2; the layers are then
    multiplied, the last on the left: R = Â_L ... Â_2 Â_1."""
    if maps.dim() != 4 or maps.shape[-1] != maps.shape[-2]:
        raise ValueError(f"maps must be (layers, heads, T, T), got {list(maps.shape)}.")
    eye = torch.eye(maps.shape[-1], dtype=maps.dtype)
    rollout = eye
    for layer in maps:  # (heads, T, T), first layer first
        a = layer.mean(0) + eye  # (T, T): the heads averaged, plus the residual path
        rollout = (a / a.sum(-1, keepdim=True)) @ rollout  # rows renormalised, this layer applied after the earlier
    return rollout


@torch.no_grad()
def class_token_rollout(model: PatchClassifier, config: TrainConfig, index: int) -> tuple[Tensor, Tensor]:
    """((g, g), (g, g)) for validation digit ``index``: the rollout from the patches to the class token, and the
    last layer's raw head-averaged class-token attention over the patches, both in reading order."""
    _, _, x_val, _ = training_data(config)
    if not 0 <= index < len(x_val):
        raise ValueError(f"index must be between 0 and {len(x_val) - 1}, got {index}.")
    _, maps = model.attention_maps(x_val[index : index + 1])  # each (1, n_heads, 1 + P, 1 + P)
    stacked = torch.stack([m[0] for m in maps])  # (layers, n_heads, 1 + P, 1 + P)
    g = config.model_config().image_size // config.patch_size
    rolled = attention_rollout(stacked)[0, 1:]  # (P,): the class token's row, patch columns
    raw = stacked[-1].mean(0)[0, 1:]  # (P,)
    return rolled.reshape(g, g), raw.reshape(g, g)


@dataclass(frozen=True)
class ImageReading:
    probs: Tensor  # (n_classes,) softmax probabilities
    pred: int  # the likeliest class
    attention: Tensor  # (layers, heads, g, g): the class token's attention over the patches, every layer and head
    rollout: Tensor  # (g, g): attention rollout from the patches to the class token
    raw: Tensor  # (g, g): the last layer's head-averaged class-token attention


@torch.no_grad()
def read_image(model: PatchClassifier, config: TrainConfig, image: Tensor) -> ImageReading:
    """The trained patch classifier on one (S, S) image in [0, 1] (a validation digit, or one a student drew): its
    probabilities, and where its class token looks (every head, the last layer's mean, the rollout)."""
    from .data import patchify

    size = config.model_config().image_size
    if tuple(image.shape) != (size, size):
        raise ValueError(f"image must be {size} x {size}, got {list(image.shape)}.")
    if not bool(((image >= 0) & (image <= 1)).all()):
        raise ValueError("image values must be between 0 and 1.")
    model.eval()
    tokens = patchify(image.float()[None], config.patch_size)  # (1, P, p*p)
    logits, maps = model.attention_maps(tokens)  # (1, n_classes); each map (1, n_heads, 1 + P, 1 + P)
    probs = logits[0].softmax(-1)
    stacked = torch.stack([m[0] for m in maps])  # (layers, n_heads, 1 + P, 1 + P)
    g = size // config.patch_size
    return ImageReading(probs, int(probs.argmax()), stacked[:, :, 0, 1:].reshape(len(maps), -1, g, g),
                        attention_rollout(stacked)[0, 1:].reshape(g, g), stacked[-1].mean(0)[0, 1:].reshape(g, g))
