"""Moderation forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from forum.moderation.services import REASON_LABELS, REMOVAL_REASONS


def _choices(pairs: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs.items()]


class ReportForm(FlaskForm):
    reason = RadioField(
        "Why are you reporting this?",
        choices=_choices(REASON_LABELS),
        validators=[DataRequired("Please choose a reason.")],
    )
    note = TextAreaField("Anything a moderator should know? (optional)", validators=[Length(max=1000)])


class AppealForm(FlaskForm):
    message = TextAreaField(
        "Why should we look again?",
        validators=[
            DataRequired("Please tell us why."),
            Length(10, 2000, "Please write between 10 and 2,000 characters."),
        ],
    )


class ItemActionForm(FlaskForm):
    reason = SelectField(
        "Reason for removal",
        choices=_choices({"": "Choose a reason", **REMOVAL_REASONS}),
        validators=[Optional()],
    )
    message = TextAreaField("Message to the author (optional)", validators=[Length(max=1000)])


class MemberActionForm(FlaskForm):
    reason = TextAreaField("Reason (the member will see it)", validators=[Length(max=1000)])
    days = IntegerField(
        "Days",
        default=7,
        validators=[Optional(), NumberRange(1, 365, "Choose 1 to 365 days.")],
    )


class DecisionForm(FlaskForm):
    """A decision from the queue: the reason picker, an optional note to the author, days where they apply."""

    reason = SelectField(
        "Reason", choices=_choices({"": "Choose a reason", **REMOVAL_REASONS}), validators=[Optional()]
    )
    message = TextAreaField("Note to the author (optional)", validators=[Length(max=1000)])
    days = IntegerField(
        "Days",
        default=7,
        validators=[Optional(), NumberRange(1, 365, "Choose 1 to 365 days.")],
    )


class NoteForm(FlaskForm):
    body = TextAreaField(
        "Private note (moderators only)", validators=[DataRequired("The note is empty."), Length(max=2000)]
    )


class TitleTagsForm(FlaskForm):
    title = StringField("Title", validators=[Length(max=150)])
    tags = StringField("Tags", validators=[Length(max=400)])
    reason = StringField("Why (the author is told)", validators=[Length(max=500)])


class WatchedWordForm(FlaskForm):
    phrase = StringField(
        "Word or phrase", validators=[DataRequired("Please enter a word or phrase."), Length(2, 100)]
    )
    action = SelectField(
        "What happens",
        choices=_choices(
            {
                "block": "Block the post (the writer is told kindly; their text is kept)",
                "hold": "Hold the post for approval",
                "flag": "Publish, but flag it for review",
            }
        ),
    )


class SettingsForm(FlaskForm):
    welfare_message = TextAreaField("Opening of the welfare message", validators=[Length(10, 2000)])
    approve_first_posts = BooleanField("New members' first posts need approval")


class ConfirmForm(FlaskForm):
    """A button-only form (CSRF protection)."""
