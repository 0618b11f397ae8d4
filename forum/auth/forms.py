"""Account forms: what a member types, with kind messages when something is off."""

from __future__ import annotations

import unicodedata

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from forum.auth.services import normalise_email
from forum.errors import ForumError

PSEUDONYM_PATTERN = r"^[\w .\-]+$"
MIN_PASSWORD = 10


def composed(text: str | None) -> str | None:
    """The name in composed form (NFC): "Zoë" typed as e and a combining mark is the same "Zoë"."""
    return unicodedata.normalize("NFC", text) if text else text


def valid_email(form: FlaskForm, field: EmailField) -> None:
    """The same address check the account services use."""
    try:
        normalise_email(field.data or "")
    except ForumError as error:
        raise ValidationError(error.message) from error


class RegisterForm(FlaskForm):
    pseudonym = StringField(
        "Pseudonym",
        filters=[composed],
        validators=[
            DataRequired("Please choose a pseudonym."),
            Length(3, 30, "A pseudonym needs 3 to 30 characters."),
            Regexp(PSEUDONYM_PATTERN, message="Use letters, numbers, spaces, dots, dashes or underscores."),
        ],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    email = EmailField(
        "Email",
        validators=[DataRequired("Please enter your email address."), Length(max=254), valid_email],
        render_kw={"autocomplete": "email"},
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired("Please choose a password."),
            Length(MIN_PASSWORD, 200, f"Use at least {MIN_PASSWORD} characters."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class LoginForm(FlaskForm):
    identifier = StringField(
        "Pseudonym or email",
        filters=[composed],
        validators=[DataRequired("Please enter your pseudonym or email."), Length(max=254)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Please enter your password."), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Keep me signed in on this device")
    next = HiddenField()


class ResetRequestForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired("Please enter your email address."), Length(max=254), valid_email],
        render_kw={"autocomplete": "email"},
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[
            DataRequired("Please choose a password."),
            Length(MIN_PASSWORD, 200, f"Use at least {MIN_PASSWORD} characters."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "New password again",
        validators=[
            DataRequired("Please type the new password again."),
            EqualTo("password", "The two passwords differ."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(
        "Current password",
        validators=[DataRequired("Please enter your current password.")],
        render_kw={"autocomplete": "current-password"},
    )


class DeleteAccountForm(FlaskForm):
    keep_stories = RadioField(
        "What should happen to your stories and replies?",
        choices=[
            SelectChoice("remove", "Remove everything I wrote, everywhere (including quotes of it)"),
            SelectChoice(
                "keep",
                "Keep them: named posts are shown as \u201ca former member\u201d, anonymous ones stay "
                "exactly as they are",
            ),
        ],
        default="remove",
        validators=[DataRequired("Please choose what happens to your stories.")],
    )
    password = PasswordField(
        "Your password",
        validators=[DataRequired("Please enter your password to confirm.")],
        render_kw={"autocomplete": "current-password"},
    )


class ConfirmForm(FlaskForm):
    """A button-only form: CSRF protection for simple actions."""
