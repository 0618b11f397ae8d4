"""Admin forms for care: support resources, extra phrases, the welfare-report switch."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, URLField
from wtforms.validators import URL, DataRequired, Length, Optional


class ResourceForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Please give the name."), Length(max=100)])
    helps_with = StringField("What it helps with", validators=[Length(max=300)])
    phone = StringField("Phone", validators=[Length(max=60)])
    url = URLField(
        "Web address",
        validators=[Optional(), URL(message="Please enter a full web address."), Length(max=300)],
    )
    hours = StringField("Hours", validators=[Length(max=100)])
    region = StringField("Region (e.g. UK, US)", validators=[Length(max=40)])
    position = IntegerField("Order", default=0, validators=[Optional()])
    checked = BooleanField("Checked before launch")


class PhraseForm(FlaskForm):
    phrase = StringField("Phrase", validators=[DataRequired("Please enter a phrase."), Length(3, 200)])


class CareSettingsForm(FlaskForm):
    welfare_reports = BooleanField(
        "When the check matches, also add a welfare report to the moderation queue"
    )


class ConfirmForm(FlaskForm):
    """A button-only form (CSRF protection)."""
