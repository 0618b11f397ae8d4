"""Numpy-only model fitting for the care classifier: logistic regression by L-BFGS on a design matrix of dense
embedding columns beside sparse hashed n-grams, and a small one-hidden-layer network trained by Adam (stage 1's
optional hidden layer). Used by forum.care.classifier (scoring) and forum.care.training (fitting)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


class Design:
    """A stage-1 design matrix: dense embedding columns beside hashed n-gram columns kept sparse (a few dozen of
    NGRAM_BUCKETS set per row), so fitting costs rows x (width + n-grams), not rows x (width + buckets)."""

    def __init__(self, dense: np.ndarray, grams: list[np.ndarray] | None = None, buckets: int = 0) -> None:
        self.dense = np.asarray(dense, dtype=np.float64)
        self.buckets = buckets if grams is not None else 0
        grams = grams if grams is not None else []
        self.rows = np.repeat(np.arange(len(grams)), [len(g) for g in grams]).astype(np.int64)
        self.cols = np.concatenate(grams).astype(np.int64) if grams else np.zeros(0, dtype=np.int64)
        norms = np.array([1.0 / np.sqrt(max(len(g), 1)) for g in grams])
        self.vals = norms[self.rows] if grams else np.zeros(0)

    @property
    def width(self) -> int:
        return self.dense.shape[1] + self.buckets

    def __len__(self) -> int:
        return len(self.dense)

    def dot(self, w: np.ndarray) -> np.ndarray:
        d = self.dense.shape[1]
        out = self.dense @ w[:d]
        if self.buckets:
            out += np.bincount(self.rows, weights=self.vals * w[d:][self.cols], minlength=len(self))
        return out

    def tdot(self, r: np.ndarray) -> np.ndarray:
        parts = [self.dense.T @ r]
        if self.buckets:
            parts.append(np.bincount(self.cols, weights=self.vals * r[self.rows], minlength=self.buckets))
        return np.concatenate(parts)


def fit_logistic(
    x: np.ndarray | Design,
    y: np.ndarray,
    l2: float,
    iterations: int = 300,
    memory: int = 10,
    weight: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Class-balanced, L2-regularised logistic regression by L-BFGS (deterministic; numpy only). Each class
    carries half the total weight whatever its size; within a class, rows count by ``weight`` (hard negatives
    more than easy ones); the bias is not penalised."""
    design = x if isinstance(x, Design) else Design(x)
    y = np.asarray(y, dtype=np.float64)
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
    positive, negative = max(float((w * y).sum()), 1e-9), max(float((w * (1 - y)).sum()), 1e-9)
    sample = w * np.where(y == 1, 0.5 / positive, 0.5 / negative) * len(y)
    penalty = np.full(design.width + 1, float(l2))
    penalty[-1] = 0.0

    def loss_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = design.dot(theta[:-1]) + theta[-1]
        loss = float((sample * (np.logaddexp(0, z) - y * z)).sum() + 0.5 * (penalty * theta * theta).sum())
        r = sample * (sigmoid(z) - y)
        return loss, np.append(design.tdot(r), r.sum()) + penalty * theta

    theta = np.zeros(design.width + 1)
    loss, gradient = loss_and_gradient(theta)
    steps: list[tuple[np.ndarray, np.ndarray]] = []
    for _ in range(iterations):
        direction = -_two_loop(gradient, steps)
        rate, slope = 1.0, float(gradient @ direction)
        while True:  # backtracking until the loss falls enough (Armijo)
            candidate = theta + rate * direction
            new_loss, new_gradient = loss_and_gradient(candidate)
            if new_loss <= loss + 1e-4 * rate * slope or rate < 1e-8:
                break
            rate *= 0.5
        steps = [*steps[-(memory - 1) :], (candidate - theta, new_gradient - gradient)]
        done = abs(loss - new_loss) < 1e-7 * max(1.0, abs(loss))
        theta, loss, gradient = candidate, new_loss, new_gradient
        if done:
            break
    return theta[:-1], float(theta[-1])


def _two_loop(gradient: np.ndarray, steps: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """L-BFGS: the gradient times the inverse-Hessian estimate from the last steps."""
    q, alphas = gradient.copy(), []
    for s, change in reversed(steps):
        alpha = float(s @ q) / float(change @ s)
        alphas.append(alpha)
        q -= alpha * change
    if steps:
        s, change = steps[-1]
        q *= float(s @ change) / float(change @ change)
    for (s, change), alpha in zip(steps, reversed(alphas), strict=True):
        q += s * (alpha - float(change @ q) / float(change @ s))
    return q


@dataclass
class Stage1:
    """A stage-1 unit scorer: a logistic regression on the embedding (and hashed n-grams when ``weights`` is
    longer than the embedding), plus, when ``hidden_v`` is not empty, one hidden ReLU layer over the embedding
    whose output is added to the logit."""

    weights: np.ndarray
    bias: float
    hidden_w: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    hidden_b: np.ndarray = field(default_factory=lambda: np.zeros(0))
    hidden_v: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def hidden_logits(self, dense: np.ndarray) -> np.ndarray:
        """The hidden layer's share of the logit (zero without one)."""
        dense = np.asarray(dense)
        if not len(self.hidden_v):
            return np.zeros(len(dense))
        h = np.maximum(dense.astype(np.float32) @ self.hidden_w.astype(np.float32) + self.hidden_b, 0.0)
        return np.asarray(h @ self.hidden_v, dtype=np.float64)

    def design_logits(self, design: Design) -> np.ndarray:
        """Logits of a Design's rows (its n-gram columns are read only when the weights cover them)."""
        d = design.dense.shape[1]
        covered = len(self.weights) > d and design.buckets  # a stage 1 trained without n-grams reads none
        linear = design.dot(self.weights) if covered else design.dense @ self.weights[:d]
        return linear + self.bias + self.hidden_logits(design.dense)


def fit_mlp(
    x: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    decay: float,
    hidden: int = 32,
    checkpoints: tuple[int, ...] = (20,),
    weight: np.ndarray | None = None,
    seed: int = 0,
    rate: float = 1e-3,
    batch: int = 256,
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, float]]:
    """One hidden ReLU layer over the embedding ``x``, its output added to a fixed logit ``offset`` (the
    logistic stage's), trained by Adam on class-balanced weighted log-loss with decoupled weight decay
    (numpy; deterministic for a seed). Returns (W, b, v, extra bias) after each epoch count in ``checkpoints``,
    so cross-validation can choose when to stop."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    offset = np.asarray(offset, dtype=np.float32)
    n, d = x.shape
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    positive, negative = max(float((w * y).sum()), 1e-9), max(float((w * (1 - y)).sum()), 1e-9)
    sample = (w * np.where(y == 1, 0.5 / positive, 0.5 / negative) * n).astype(np.float32)
    params = [
        rng.normal(0.0, 1.0 / np.sqrt(d), (d, hidden)).astype(np.float32),
        np.zeros(hidden, dtype=np.float32),
        rng.normal(0.0, 0.01, hidden).astype(np.float32),
        np.zeros(1, dtype=np.float32),
    ]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    step, out = 0, {}
    for epoch in range(1, max(checkpoints) + 1):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            rows = order[start : start + batch]
            xb, hw, hb, v, b = x[rows], *params
            pre = xb @ hw + hb
            h = np.maximum(pre, 0.0)
            z = offset[rows] + h @ v + b[0]
            r = sample[rows] * (1.0 / (1.0 + np.exp(-np.clip(z, -40, 40))) - y[rows]) / len(rows)
            back = np.outer(r, v) * (pre > 0)
            grads = [xb.T @ back, back.sum(axis=0), h.T @ r, np.array([r.sum()], dtype=np.float32)]
            step += 1
            for i, (p, g) in enumerate(zip(params, grads, strict=True)):
                moments[i] = 0.9 * moments[i] + 0.1 * g
                squares[i] = 0.999 * squares[i] + 0.001 * g * g
                m_hat = moments[i] / (1 - 0.9**step)
                s_hat = squares[i] / (1 - 0.999**step)
                if i in (0, 2):  # weights decay, biases do not
                    p -= rate * decay * p
                p -= rate * m_hat / (np.sqrt(s_hat) + 1e-8)
        if epoch in checkpoints:
            out[epoch] = (params[0].copy(), params[1].copy(), params[2].copy(), float(params[3][0]))
    return out
