"""A sentence model's installed files: are they the pinned ones, and their mapped form (the checked model.onnx
rewritten with its large tensors in one weights file, ONNX external data, that onnxruntime memory-maps instead
of copying into each process).

Written by forum/similar/convert.py at install time; the mapped form is loaded by forum/similar/engine.py
(model_file) only when it was written from the pinned model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from forum.similar.engine import MAPPED_GRAPH, MAPPED_SOURCE, MAPPED_WEIGHTS, ModelSpec, mapped_source


def sha256(path: Path) -> str:
    digest = hashlib.sha256()  # nosemgrep - a file checksum
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_current(spec: ModelSpec) -> bool:
    """True when the converted files are there and match their pins (so `make install` can skip the work)."""
    onnx_file, tokenizer = spec.directory / "model.onnx", spec.directory / "tokenizer.json"
    return (
        onnx_file.exists()
        and tokenizer.exists()
        and sha256(onnx_file) == spec.onnx_sha256
        and sha256(tokenizer) == spec.tokenizer_sha256
    )


# Tensors at least this large go to the mapped weights file (the rest, scales and shapes, stay in the graph).
MAPPED_MIN_BYTES = 4096
PAGE = 4096


def write_mapped(spec: ModelSpec) -> None:
    """Write the mapped form of the checked model.onnx: the same graph with its large tensors moved to one
    weights file, each at a page-aligned offset (ONNX external data).

    onnxruntime memory-maps external data instead of copying it into the process: the word table (47 MB of
    MiniLM's 59 MB, read only at the rows a text's tokens pick) stays in the page cache, shared by every
    worker of the host, and only its touched pages count in a worker's RSS; the matrices that onnxruntime
    repacks for its kernels are read once at load. Same tensors, same nodes: the same vectors to the bit
    (tests/similar/test_engine.py). Written aside and renamed into place, so a running worker keeps the
    files it mapped; the hash of the model.onnx it was written from is written last, and the engine uses
    this form only when that hash is its model's pin."""
    import onnx
    from onnx.external_data_helper import set_external_data

    directory = spec.directory
    source = sha256(directory / "model.onnx")  # recorded: the engine maps this form only for its pinned model
    model = onnx.load(str(directory / "model.onnx"), load_external_data=False)
    scratch = directory / (MAPPED_WEIGHTS + ".tmp")
    with scratch.open("wb") as out:
        for tensor in model.graph.initializer:
            if len(tensor.raw_data) < MAPPED_MIN_BYTES:
                continue
            out.write(b"\0" * (-out.tell() % PAGE))
            offset = out.tell()
            out.write(tensor.raw_data)
            set_external_data(tensor, location=MAPPED_WEIGHTS, offset=offset, length=len(tensor.raw_data))
            tensor.data_location = onnx.TensorProto.EXTERNAL
            tensor.ClearField("raw_data")
    graph = directory / (MAPPED_GRAPH + ".tmp")
    graph.write_bytes(model.SerializeToString())
    (directory / MAPPED_SOURCE).unlink(missing_ok=True)
    scratch.replace(directory / MAPPED_WEIGHTS)
    graph.replace(directory / MAPPED_GRAPH)
    (directory / MAPPED_SOURCE).write_text(source + "\n")
    print(f"{spec.name}: {directory / MAPPED_GRAPH} and {MAPPED_WEIGHTS} (mapped form)")


def mapped_is_current(spec: ModelSpec) -> bool:
    """True when the mapped form is there and was written from the pinned model.onnx."""
    return mapped_source(spec) == spec.onnx_sha256
