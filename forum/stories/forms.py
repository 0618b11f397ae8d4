"""Forms for stories, replies, updates and deletion. Length rules live in the services, so messages match."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from forum.models import CONTENT_NOTES, AgeBand, Outcome, Setting
from forum.typed_text import KeyedForm

AGE_BAND_LABELS = {
    "under-1": "Under 1",
    "1-2": "1–2",
    "2-3": "2–3",
    "3-4": "3–4",
    "4-5": "4–5",
    "5-plus": "5+",
}
SETTING_LABELS = {s.value: s.value.capitalize() for s in Setting}
OUTCOME_LABELS = {"better": "Better now", "mixed": "Mixed", "still-hard": "Still hard"}


def _choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class StoryForm(KeyedForm):
    title = StringField(
        "Title (optional)", render_kw={"maxlength": 150, "autocomplete": "off", "dir": "auto"}
    )
    body = TextAreaField("Your story", render_kw={"rows": 12, "dir": "auto", "spellcheck": "true"})
    tags = StringField(
        "Tags (optional)",
        render_kw={
            "autocomplete": "off",
            "autocapitalize": "none",
            "placeholder": "e.g. nursery, dropoffguilt",
        },
    )
    anonymous = BooleanField("Post anonymously (others see “Anonymous parent”)")
    age_band = SelectField(
        "Child's age",
        validate_choice=False,
        choices=_choices([("", "Rather not say")] + [(a.value, AGE_BAND_LABELS[a.value]) for a in AgeBand]),
    )
    setting = SelectField(
        "Setting",
        validate_choice=False,
        choices=_choices([("", "Rather not say")] + list(SETTING_LABELS.items())),
    )
    content_note = SelectField(
        "Content note", validate_choice=False, choices=_choices([("", "None")] + list(CONTENT_NOTES.items()))
    )
    remind = RadioField(
        "Remind me to add an update",
        default="",
        validate_choice=False,
        choices=_choices([("", "No, thanks"), ("1", "In 1 week"), ("3", "In 3 weeks")]),
    )


class ReplyForm(KeyedForm):
    body = TextAreaField(
        "Your reply",
        render_kw={
            "rows": 5,
            "dir": "auto",
            "placeholder": "Been through something like this? Share what it was like for you and what helped.",
        },
    )
    quoting = HiddenField()


class UpdateForm(KeyedForm):
    body = TextAreaField(
        "Your update",
        render_kw={
            "rows": 5,
            "dir": "auto",
            "placeholder": "e.g. Three weeks on, he waves me off at the door now.",
        },
    )
    outcome = RadioField(
        "How are things now?",
        validate_choice=False,
        choices=_choices([(o.value, OUTCOME_LABELS[o.value]) for o in Outcome]),
    )


class DeleteStoryForm(FlaskForm):
    remove_everything = BooleanField("Also remove the replies")


class ConfirmForm(FlaskForm):
    pass
