"""`flask demo load`: realistic demo stories, updates, replies and reactions for a new site.

Loaded through the same services as the web pages, and only into a site with no stories yet.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from forum.auth.passwords import hash_password
from forum.extensions import db
from forum.models import Story, User, utcnow
from forum.stories import services

demo_cli = AppGroup("demo", help="Demo content.")

MEMBERS = [
    "Hannah B",
    "SleeplessInLeeds",
    "DadOfTwo",
    "Priya K",
    "MorningRush",
    "Grandad Joe",
    "TeaAndBiscuits",
]

# (author, title, body, tags, setting, age band, anonymous, update (outcome, text) or None, replies [(author, text)])
STORIES = [
    (
        "MorningRush",
        "He screamed \u201cdon't leave me\u201d at the nursery door",
        "Third week at nursery and today was the worst yet. He clung to my legs and screamed DON'T LEAVE ME while the "
        "key worker peeled him off. I walked to the car with my stomach churning and sat there for ten minutes before I "
        "could drive. Everyone says it gets better. Does it?",
        "#nurseryguilt #dropoffguilt",
        "nursery",
        "2-3",
        False,
        (
            "better",
            "Five weeks on: he waved me off this morning and ran to the sand tray. The staff said he stops crying "
            "about two minutes after I leave, and now he doesn't start. Hang in there.",
        ),
        [
            (
                "Hannah B",
                "My daughter did exactly this for a month. What helped us was a really short goodbye (kiss, "
                "\u201csee you after snack\u201d, go) and a photo of us in her pocket. She loves it there now.",
            ),
            ("DadOfTwo", "Sitting in the car afterwards is the worst bit. You're not alone in it."),
        ],
    ),
    (
        "Priya K",
        "Back at work and I missed her first steps",
        "The childminder sent me a video of my daughter's first steps while I was in a meeting. I smiled in the meeting "
        "and cried in the loo afterwards. I know I have to work. I still feel like I'm missing everything.",
        "backtowork, guilt",
        "childminder",
        "1-2",
        False,
        None,
        [
            (
                "TeaAndBiscuits",
                "She'll take a thousand more first steps and you'll see most of them. The guilt is real "
                "though; be gentle with yourself.",
            )
        ],
    ),
    (
        "SleeplessInLeeds",
        "Four-month sleep regression is breaking me",
        "She was sleeping five-hour stretches and now she's up every 45 minutes. I'm so tired I put the milk in the "
        "cupboard and the cereal in the fridge this morning. How long did it last for you?",
        "#sleep #sleepregression",
        "family",
        "under-1",
        False,
        (
            "mixed",
            "Three weeks later: nights are better, naps are still a battle. We moved bedtime earlier and it helped a bit.",
        ),
        [
            (
                "Hannah B",
                "About three weeks for us. An earlier bedtime helped more than anything else we tried.",
            )
        ],
    ),
    (
        "DadOfTwo",
        "Settling-in days at preschool and a very quiet boy",
        "He doesn't cry at drop-off, he just goes silent and stands by the door. The staff say he's fine later on but "
        "he won't tell me anything about his day. I think the silence worries me more than tears would.",
        "preschool, settlingin",
        "preschool",
        "3-4",
        False,
        None,
        [
            (
                "Grandad Joe",
                "My grandson was the same. Asking \u201cwhat was the silliest thing that happened today?\u201d "
                "got more out of him than \u201chow was your day\u201d.",
            )
        ],
    ),
    (
        "TeaAndBiscuits",
        "Public meltdown in the supermarket",
        "Full floor-lying, shoe-throwing tantrum in the biscuit aisle because I said no to a second packet. People "
        "stared. One lady tutted. Another lady smiled at me and said \u201cwe've all been there\u201d and I nearly cried.",
        "#tantrums #toddlerlife",
        None,
        "2-3",
        False,
        None,
        [("MorningRush", "Be the smiling lady for someone else one day. That's what I tell myself.")],
    ),
    (
        "Hannah B",
        "First day of school tomorrow",
        "Uniform is ironed, the name labels are sewn in, and I'm the one who can't sleep. She's excited. I'm a mess. "
        "How did your first school drop-off go?",
        "#schoolstart #firstday",
        "school",
        "4-5",
        False,
        ("better", "Update: she ran in without looking back. I cried in the car, obviously. She loved it."),
        [],
    ),
    (
        "Grandad Joe",
        "Looking after my grandson two days a week",
        "I do Tuesdays and Thursdays while my daughter works. He cries for his mum when she leaves and I feel useless. "
        "It used to be so easy when he was a baby.",
        "grandparents, dropoff",
        "family",
        "2-3",
        False,
        None,
        [
            (
                "Priya K",
                "My mum says the same about our daughter. It means he trusts you enough to show you how he feels.",
            )
        ],
    ),
    (
        None,
        "I don't feel like I'm coping",
        "I haven't told anyone this. Since the baby came I feel flat all the time and I snap at my eldest. I love them "
        "both, but I don't feel like myself. Some days getting out of the door for nursery feels impossible.",
        "#postnatal #mentalhealth",
        "nursery",
        "under-1",
        True,
        None,
        [
            (
                "Hannah B",
                "Thank you for sharing this. I felt the same after my second and talking to my GP was the first "
                "step to feeling like me again. You deserve support too.",
            )
        ],
    ),
    (
        "MorningRush",
        "Biting at nursery: the dreaded incident form",
        "Got handed an incident form at pick-up because he bit another child. I was mortified. He's not a mean kid, he "
        "just doesn't have the words yet. How did you handle this?",
        "biting, nursery",
        "nursery",
        "1-2",
        False,
        (
            "still-hard",
            "Two weeks later and it's still happening now and then. The nursery is working on it with us. "
            "Still hard, but we're not alone in it.",
        ),
        [
            (
                "DadOfTwo",
                "Our nursery said it's really common at that age and it passed in a few months for us.",
            )
        ],
    ),
    (
        "Priya K",
        "Weaning and the guilt that comes with it",
        "We're stopping breastfeeding because I'm going back to work and I feel so sad about it. She's fine with the "
        "bottle. I'm the one who isn't fine.",
        "#weaning #breastfeeding",
        "family",
        "under-1",
        False,
        None,
        [],
    ),
]


def _member(pseudonym: str, password_hash: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.pseudonym_key == pseudonym.lower()))
    if user is None:
        key = pseudonym.lower().replace(" ", "")
        user = User(
            pseudonym=pseudonym,
            pseudonym_key=pseudonym.lower(),
            email=f"{key}@demo.village.invalid",
            password_hash=password_hash,
            created_at=utcnow() - timedelta(days=60),
        )
        db.session.add(user)
        db.session.flush()
    return user


def load_demo_content() -> int:
    """Create the demo members and stories; return how many stories were created."""
    # Demo members can't sign in: their password is random and never shown.
    unusable = hash_password(secrets.token_urlsafe(32))
    members = {name: _member(name, unusable) for name in MEMBERS}
    db.session.commit()
    anonymous_author = members["SleeplessInLeeds"]
    created = 0
    for index, (author, title, body, tags, setting, age, anonymous, update, replies) in enumerate(STORIES):
        story = services.publish_story(
            members[author] if author else anonymous_author,
            title=title,
            body=body,
            tags=tags,
            setting=setting,
            age_band=age,
            anonymous=anonymous,
        )
        # Spread the stories over the last few days so the feeds look lived-in.
        story.created_at = story.last_activity_at = utcnow() - timedelta(hours=6 * (len(STORIES) - index))
        db.session.commit()
        for reply_author, text in replies:
            services.add_reply(members[reply_author], story, body=text)
        if update:
            outcome, text = update
            services.add_update(
                members[author] if author else anonymous_author, story, body=text, outcome=outcome
            )
        for name in MEMBERS[: 2 + index % 5]:
            if members[name].id != story.author_id:
                services.toggle_reaction(
                    members[name], kind=("hugs", "me-too", "been-there", "got-this")[index % 4], story=story
                )
        created += 1
    return created


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the site already has stories.")
@click.option("--force", is_flag=True, help="Add the demo stories even when the site has stories.")
def load(if_empty: bool, force: bool) -> None:
    """Load demo members and stories into a new site."""
    has_stories = bool(db.session.scalar(sa.select(sa.func.count()).select_from(Story)))
    if has_stories and if_empty:
        click.echo("The site already has stories; no demo content loaded.")
        return
    if has_stories and not force:
        raise click.ClickException(
            "The site already has stories. Use --if-empty to skip, or --force to add anyway."
        )
    click.echo(f"Loaded {load_demo_content()} demo stories.")
