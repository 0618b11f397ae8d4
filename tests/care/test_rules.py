"""The rule layer of the care detector (forum.care.rules through Detector(use_classifier=False)): each
context rule's path (idiom, joke, negation, advice or reported speech, accident, past told as recovery),
normalisation, the reading of odd input, admins' phrases, and the TAXONOMY's hard negatives."""

from __future__ import annotations

import pytest

from forum.care import rules
from forum.care.detector import PHRASE_SCORE, CareResult, Detector, normalise, split_sentences
from tests.care.taxonomy import examples, hard_negatives

CRISIS = [
    "I keep thinking they'd be better off without me.",
    "I can't do this anymore, I don't want to be here.",
    "Sometimes I think my family would manage fine without me.",
    "I've been cutting myself again and nobody knows.",
    "I'm scared I'll hurt the baby when she won't stop crying.",
    "I want to die and this is not a joke.",
    "Last night I felt I couldn't go on.",
    # Domestic abuse: the markers DASH weighs most (not the taxonomy's examples, which test the whole detector).
    "When he drinks he puts his hands around my throat and I can't breathe.",
    "He's threatened to kill me twice now if I take the kids to my mum's.",
    "Honestly I'm scared for my life when his car pulls up.",
]
NOT_CRISIS = [
    "I wanted the ground to swallow me.",
    "This is killing me, lol.",
    "The guilt is killing me.",
    "I could have died of embarrassment.",
    "I was so embarrassed I wanted to die.",
    "I'd never hurt the baby.",
    "I don't want to die, I just want to sleep for a week.",
    "I want to die lol",
    "Last year I felt I couldn't go on, but with help I'm so much better now.",
    "If you're feeling hopeless, please talk to your GP.",
    "I burned myself on the kettle by accident.",
    "My partner says the kids will cope without me for one night.",
    "My mum will kill me if she finds out I let him have chocolate for breakfast.",
    "That advert about the baby choked me up, I'm such a mess.",
    "He never laid a finger on me, he's just grumpy when he's tired.",
    "The rope swing nearly strangled the cat, we took it down.",
]
ORDINARY = [
    "I cried the whole way to work.",
    "I felt like the worst mum in the world.",
    "She screamed at the nursery door and I had to walk away.",
    "We're trying a sticker chart for the potty.",
]


@pytest.fixture(scope="module")
def rules_only() -> Detector:
    return Detector(use_classifier=False)


# ---------------------------------------------------------------- rule layer


@pytest.mark.parametrize("text", CRISIS)
def test_phrases_catch_crisis_language(rules_only: Detector, text: str) -> None:
    assert rules_only.check(text).signpost


@pytest.mark.parametrize("text", NOT_CRISIS + ORDINARY)
def test_idioms_jokes_negation_recovery_and_advice_do_not_trigger(rules_only: Detector, text: str) -> None:
    assert not rules_only.check(text).signpost


def test_ignored_matches_are_explained(rules_only: Detector) -> None:
    reasons = {text: " ".join(rules_only.check(text).reasons) for text in NOT_CRISIS[4:9]}
    assert "idiom" in reasons["I was so embarrassed I wanted to die."]
    assert "negated" in reasons["I'd never hurt the baby."]
    assert "joking" in reasons["I want to die lol"]
    assert "recovery" in reasons[NOT_CRISIS[8]]


def test_present_crisis_in_a_recovery_story_still_triggers(rules_only: Detector) -> None:
    text = "Two years ago I got help and it does get better. But now I can't go on again."
    assert rules_only.check(text).signpost


def test_negation_is_limited_to_its_clause(rules_only: Detector) -> None:
    assert rules_only.check("I'd never hurt the baby, but I want to die.").signpost


def test_reasons_name_the_phrase_and_sentence(rules_only: Detector) -> None:
    result = rules_only.check("We had a long day. I keep thinking they'd be better off without me.")
    expected = CareResult(True, PHRASE_SCORE, ['sentence 2: phrase "better off without me"'], phrase_hit=True)
    assert result == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\u200b\u200b",
        "\U0001f602\U0001f602",
        "...!?",
        "\n\n\n",
        "\u05d0\u05e0\u05d9 \u05e2\u05d9\u05d9\u05e4\u05d4",
        "\x00\x01 \ud800"[:2],
    ],
)
def test_empty_and_odd_input(rules_only: Detector, text: str) -> None:
    result = rules_only.check(text)
    assert not result.signpost and 0.0 <= result.score <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "I don\u2019t want to be here anymore",  # curly apostrophe
        "\uff49 \uff57\uff41\uff4e\uff54 \uff54\uff4f \uff44\uff49\uff45",  # full-width
        "I DONT WANT TO LIVE",
        "i\u00adm a bur\u200bden to everyone",  # soft hyphen, zero-width
        "Im such a burden to everyone",
    ],
)
def test_unicode_and_sloppy_spelling_are_normalised(rules_only: Detector, text: str) -> None:
    assert rules_only.check(text).signpost


def test_very_long_input_is_handled(rules_only: Detector) -> None:
    text = "We went to the park and fed the ducks. " * 3000 + "I want to end my life."
    assert rules_only.check(text).signpost


def test_extra_phrases_from_admins() -> None:
    text = "I keep driving to the old quarry at night."
    assert not Detector(use_classifier=False).check(text).signpost
    detector = Detector(["driving to the * quarry", "  ", "# a comment"], use_classifier=False)
    assert detector.check(text).signpost
    assert 'phrase "driving to the * quarry"' in detector.check(text).reasons[0]
    assert not detector.check("I'd never keep driving to the old quarry at night.").signpost


def test_normalise_and_split() -> None:
    assert normalise("I\u2019m can't DON'T won\u2019t self-harm") == "i am cannot do not will not self harm"
    assert split_sentences("Bad day. lol. Then bed!\nNew line") == ["Bad day. lol.", "Then bed!", "New line"]
    assert split_sentences("") == []


def test_phrase_file_entries_compile_and_are_unique() -> None:
    phrases = rules.read_phrase_file(rules.PHRASES_PATH)
    assert len(phrases) > 150
    assert all(rules.phrase_regex(p) for p in phrases)
    assert len({normalise(p) for p in phrases}) == len(phrases)


@pytest.mark.parametrize(
    "text",
    [t for kind, texts in examples().items() if kind.startswith("neg_") for t in texts] + hard_negatives(),
)
def test_taxonomy_hard_negatives_survive_the_rules(rules_only: Detector, text: str) -> None:
    """No reviewed phrase survives the context rules in the TAXONOMY's examples of what must not show it."""
    assert not rules_only.check(text).signpost, rules_only.check(text).reasons


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("I wanted to die of embarrassment at the school gate.", "idiom"),
        ("I want to disappear to a spa for a weekend.", "idiom"),
        ("honestly I want to die lol", "joking"),
        ("I'd never hurt the baby.", "negated"),
        ("If you ever feel like you want to die, please call Samaritans.", "advice or reported question"),
        ("I cut myself by accident chopping onions.", "accident"),
        ("Last year I felt I couldn't go on, but with help I'm so much better now.", "recovery"),
    ],
)
def test_each_context_rule_names_itself(rules_only: Detector, text: str, why: str) -> None:
    result = rules_only.check(text)
    assert not result.signpost
    assert any(why in reason for reason in result.reasons), result.reasons
