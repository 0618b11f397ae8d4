"""The mail settings form: one choice per kind, time zone, quiet hours, digest, following on reply."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField

from forum.notifications.mail import kinds as K

QUIET_TIMES = [(f"{h:02d}:00", f"{h:02d}:00") for h in range(24)]


def _zones() -> list[tuple[str, str]]:
    return [("", "The site's time zone")] + [(z, z.replace("_", " ")) for z in sorted(available_timezones())]


class MailSettingsForm(FlaskForm):
    kind_replies = SelectField(K.KINDS[K.REPLIES].label, choices=list(K.MODES.items()))
    kind_followed = SelectField(K.KINDS[K.FOLLOWED].label, choices=list(K.MODES.items()))
    kind_quotes = SelectField(K.KINDS[K.QUOTES].label, choices=list(K.MODES.items()))
    kind_reminders = SelectField(K.KINDS[K.REMINDERS].label, choices=list(K.MODES.items()))
    kind_moderation = SelectField(K.KINDS[K.MODERATION].label, choices=list(K.MODES.items()))
    digest = SelectField("Digest", choices=list(K.DIGEST_FREQUENCIES.items()))
    timezone = SelectField("Your time zone", choices=[], validate_choice=False)
    quiet_start = SelectField("Quiet from", choices=QUIET_TIMES, validate_choice=False)
    quiet_end = SelectField("until", choices=QUIET_TIMES, validate_choice=False)
    follow_replied = BooleanField("Follow the stories I reply to")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = _zones()


class EmailForm(FlaskForm):
    """Kept simple: the CSRF token for the one-button forms (resend the confirmation)."""

    email = StringField("Email")
