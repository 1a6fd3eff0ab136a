"""Light classifiers for a few examples: multinomial logistic regression and k-nearest neighbours, in numpy.

Few-shot mapping has tens of labelled pixels: a linear model on standardised features (L2-regularised, fitted by
full-batch gradient descent) is what the embedding literature evaluates with, and it trains in milliseconds.
scikit-learn is not a dependency for this alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geovigie.core.errors import ToolInputError


@dataclass
class Classifier:
    """A fitted classifier: predict class probabilities of feature rows."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    """(D + 1, C): last row is the bias."""
    classes: list[str]

    def proba(self, features: np.ndarray) -> np.ndarray:
        """(N, C) class probabilities."""
        z = (features - self.mean) / self.scale
        logits = z @ self.weights[:-1] + self.weights[-1]
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]

    def predict(self, features: np.ndarray) -> np.ndarray:
        """(N,) class indices."""
        return self.proba(features).argmax(axis=1)  # type: ignore[no-any-return]


def fit_logistic(
    features: np.ndarray, labels: np.ndarray, classes: list[str], *, l2: float = 1e-2, steps: int = 300
) -> Classifier:
    """Fit a multinomial logistic regression on (N, D) features and (N,) integer labels.

    Raises:
        ToolInputError: fewer than two classes with examples, or no examples.
    """
    present = np.unique(labels)
    if len(features) == 0 or len(present) < 2:
        raise ToolInputError(
            "A classifier needs examples of at least two classes.",
            hint="Give a few points or polygons for each class, e.g. forest and fields.",
        )
    x = np.asarray(features, np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    n, d = z.shape
    c = len(classes)
    onehot = np.zeros((n, c))
    onehot[np.arange(n), labels] = 1.0
    # Balanced weights: a class drawn as a big polygon must not drown one given as two points.
    counts = onehot.sum(axis=0)
    sample_w = (1.0 / np.maximum(counts, 1))[labels] * (n / len(present))
    zb = np.hstack([z, np.ones((n, 1))])
    w = np.zeros((d + 1, c))
    lr = 0.5
    for _ in range(steps):
        logits = zb @ w
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        grad = zb.T @ ((p - onehot) * sample_w[:, None]) / n
        grad[:-1] += l2 * w[:-1]
        w -= lr * grad
    return Classifier(mean=mean, scale=scale, weights=w, classes=classes)


def knn_scores(features: np.ndarray, examples: np.ndarray, k: int = 1) -> np.ndarray:
    """Cosine similarity of each feature row to its ``k`` most similar examples (mean), in [-1, 1]."""
    f = features / (np.linalg.norm(features, axis=1, keepdims=True) + 1e-9)
    e = examples / (np.linalg.norm(examples, axis=1, keepdims=True) + 1e-9)
    sims = f @ e.T
    k = min(k, sims.shape[1])
    top = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
    return top.mean(axis=1)  # type: ignore[no-any-return]
