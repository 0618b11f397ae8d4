"""The detector as shipped (rules + classifier on the similar-stories engine's embeddings): each kind of the
TAXONOMY in a parent's words, its hard negatives, a risk line inside a long ordinary post, the stored model's
match with the training data and the engine, and the `flask care check` contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forum.care import classifier as clf
from forum.care import training
from forum.care.detector import Detector, get_detector, normalise
from forum.similar import engine
from tests.care.taxonomy import examples
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]
# Every evaluation writer's set (read here only to check that none of it is trained on) and the old set.
EVALUATION = [
    *sorted((ROOT / "bench/data/care_eval").glob("writer-*.jsonl")),
    ROOT / "bench/data/care_sentences.jsonl",
]
POSITIVE = [
    (kind, text) for kind, texts in examples().items() if not kind.startswith("neg_") for text in texts
]
NEGATIVE = [(kind, text) for kind, texts in examples().items() if kind.startswith("neg_") for text in texts]
# Known misses of the shipped model on the TAXONOMY's own examples (kept visible, not hidden): each is a
# strict xfail, so the day the model catches it the test says so. The suite runs on MiniLM (conftest): these are
# the MiniLM classifier's (the hidden-layer method, retrained 2 December with writers a-j; MPNet, the default,
# misses 1 and cards 2 of the same examples, README).
KNOWN_MISSES = {
    "Some mornings I'm disappointed I woke up.",
    "My son said Grandad does 'secret games' in the bath.",
    "I shook her. Only for a second. I've never done anything like that.",
    "I always know from how he shuts the car door what kind of night it'll be.",
    "The radio keeps mentioning her name, it means something.",
    "If he wakes her up I swear I'll kill him 😂",
    "Touched out. If one more person climbs on me I'll scream.",
}


@pytest.fixture(scope="module")
def full() -> Detector:
    detector = Detector()
    assert detector.uses_classifier, detector.problem
    return detector


# Examples whose answer depends on the CPU: the int8 model runs different kernels with and without VNNI, and
# these land on either side of the threshold (seen on 2 December: "I've decided ..." 0.34 against the card's 0.36
# on an Intel host with VNNI, above it on an AMD host without; "the death of me" carded on the AMD host only).
# Listed, not hidden: an xfail that may pass.
DEPENDS_ON_CPU = {
    "I've decided. Once he's settled at his dad's I'm done.",
    "He's going to be the death of me, that boy.",
}


def _maybe_known(text: str) -> list[pytest.MarkDecorator]:
    if text in DEPENDS_ON_CPU:
        return [pytest.mark.xfail(strict=False, reason="borderline, depends on the CPU's int8 kernels")]
    return [pytest.mark.xfail(strict=True, reason="known miss, see README")] if text in KNOWN_MISSES else []


@pytest.mark.parametrize(
    ("kind", "text"), [pytest.param(k, t, marks=_maybe_known(t), id=f"{k}:{t[:30]}") for k, t in POSITIVE]
)
def test_every_kind_in_a_parents_words_shows_the_card(full: Detector, kind: str, text: str) -> None:
    result = full.check(text)
    assert result.signpost, result.reasons


@pytest.mark.parametrize(
    ("kind", "text"), [pytest.param(k, t, marks=_maybe_known(t), id=f"{k}:{t[:30]}") for k, t in NEGATIVE]
)
def test_hard_negatives_do_not(full: Detector, kind: str, text: str) -> None:
    result = full.check(text)
    assert not result.signpost, result.reasons


ORDINARY_POST = (
    "Update on the weaning saga: she finally ate some sweet potato today, mostly off the floor, but still. "
    "Nursery say she's napping better there than at home, which is rude of her. My mum is coming on Friday "
    "so I might get a shower. {line} Anyway, does anyone have a high chair they love that is easy to clean? "
    "Ours has about forty crevices and every one of them has porridge in it."
)


@pytest.mark.parametrize("model", ["minilm", "mpnet"])
def test_one_risk_line_inside_a_long_ordinary_post_carries_it(model: str) -> None:
    detector = Detector(embedder=engine.get_embedder(model))
    assert detector.uses_classifier, detector.problem
    risky = detector.check(ORDINARY_POST.format(line="Sometimes I think they'd all manage fine without me."))
    assert risky.signpost and any("classifier" in reason for reason in risky.reasons)
    assert risky.score > detector.check(ORDINARY_POST.format(line="")).score


def test_the_same_post_without_the_line_shows_no_card(full: Detector) -> None:
    assert not full.check(ORDINARY_POST.format(line="")).signpost


def test_calibrated_scores_are_probabilities(full: Detector) -> None:
    results = full.check_many(["I want to die.", "We fed the ducks.", ""])
    assert all(0.0 <= r.score <= 1.0 for r in results)
    assert results[0].score > results[1].score


def test_the_stored_classifier_matches_the_committed_data_and_the_engine(full: Detector) -> None:
    model = full.classifier
    assert model is not None
    assert model.figures["data_sha"] == training.data_sha(), "run: flask --app wsgi care retrain"
    assert model.model_id == clf.engine_model_id(full.embedder)
    assert model.matches(full.embedder)
    cv = model.figures["cross_validated"]
    assert cv["recall"] >= 0.9, "the threshold is chosen for cross-validated recall of at least 0.90"


def test_training_and_evaluation_texts_are_disjoint() -> None:
    train = {normalise(row.text) for row in training.load_training()}
    for path in EVALUATION:
        evaluation = {
            normalise(json.loads(line)["text"]) for line in path.read_text().splitlines() if line.strip()
        }
        assert len(evaluation) >= 200
        assert not train & evaluation, path.name


def test_check_cli_keeps_its_contract(runner) -> None:
    result = runner.invoke(args=["care", "check"], input="I want to die.\nWe fed the ducks.\n\n")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["signpost"] for line in lines] == [True, False, False]
    assert all(isinstance(line["signpost"], bool) and "score" in line for line in lines)


def test_check_cli_keeps_its_contract_on_an_unmigrated_database(tmp_path) -> None:
    unmigrated = make_app(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}")
    with unmigrated.app_context():
        result = unmigrated.test_cli_runner().invoke(
            args=["care", "check"], input="I want to die.\nWe fed the ducks.\n"
        )
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["signpost"] for line in result.stdout.splitlines()] == [True, False]
    assert "db upgrade" in result.stderr


def test_get_detector_is_a_singleton() -> None:
    assert get_detector() is get_detector()
