"""The mail settings form: one choice per kind, time zone, quiet hours, digest, following on reply."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField
from wtforms.fields.choices import SelectChoice

from forum.notifications.mail import kinds as K

QUIET_TIMES = [SelectChoice(f"{h:02d}:00", f"{h:02d}:00") for h in range(24)]
MODES = [SelectChoice(value, label) for value, label in K.MODES.items()]
DIGESTS = [SelectChoice(value, label) for value, label in K.DIGEST_FREQUENCIES.items()]


def _zones() -> list[SelectChoice]:
    zones = [SelectChoice(z, z.replace("_", " ")) for z in sorted(available_timezones())]
    return [SelectChoice("", "The site's time zone"), *zones]


class MailSettingsForm(FlaskForm):
    kind_replies = SelectField(K.KINDS[K.REPLIES].label, choices=MODES)
    kind_followed = SelectField(K.KINDS[K.FOLLOWED].label, choices=MODES)
    kind_quotes = SelectField(K.KINDS[K.QUOTES].label, choices=MODES)
    kind_reminders = SelectField(K.KINDS[K.REMINDERS].label, choices=MODES)
    kind_moderation = SelectField(K.KINDS[K.MODERATION].label, choices=MODES)
    digest = SelectField("Digest", choices=DIGESTS)
    timezone = SelectField("Your time zone", choices=[], validate_choice=False)
    quiet_start = SelectField("Quiet from", choices=QUIET_TIMES, validate_choice=False)
    quiet_end = SelectField("until", choices=QUIET_TIMES, validate_choice=False)
    follow_replied = BooleanField("Follow the stories I reply to")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = _zones()


class ChangeEmailForm(FlaskForm):
    email = EmailField("New email address")
    password = PasswordField("Your password")
