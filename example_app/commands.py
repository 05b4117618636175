"""``flask --app example_app seed`` and ``activity``: data to watch."""

from __future__ import annotations

import random
import time

import click
from flask.cli import with_appcontext

from .models import Activity
from .models import db
from .models import KINDS
from .models import Notification
from .models import Service
from .models import STATES
from .models import User

SERVICES = ("api", "web", "worker", "database", "cache", "search")
NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")
USERS = 100  # with 50 notifications each: about 5,000 rows
NOTIFICATIONS_PER_USER = 50


def user_name(index: int) -> str:
    base = NAMES[index % len(NAMES)]
    return base if index < len(NAMES) else f"{base}{index // len(NAMES)}"


@click.command("seed")
@click.option("--reset", is_flag=True, help="Drop all tables and seed again.")
@with_appcontext
def seed_command(reset: bool) -> None:
    """Create the tables and seed them once; with --reset, from scratch."""
    if reset:
        db.drop_all()
    db.create_all()
    if db.session.scalar(db.select(db.func.count()).select_from(User)):
        click.echo("Already seeded; use --reset to start again.")
        return
    rng = random.Random(42)
    users = [User(name=user_name(i)) for i in range(USERS)]
    db.session.add_all(users)
    db.session.add_all(Service(name=name) for name in SERVICES)
    db.session.flush()
    db.session.add_all(
        Notification(
            user_id=user.id,
            text=f"Welcome message {n + 1} for {user.name}",
            read=n < NOTIFICATIONS_PER_USER - 3,
        )
        for user in users
        for n in range(NOTIFICATIONS_PER_USER)
    )
    db.session.add_all(
        Activity(
            kind=rng.choice(KINDS),
            amount=rng.randint(1, 500),
            user_id=rng.choice(users).id,
        )
        for _ in range(2000)
    )
    db.session.commit()
    click.echo(
        f"Seeded {USERS} users, {USERS * NOTIFICATIONS_PER_USER} notifications,"
        f" {len(SERVICES)} services and 2000 activities."
    )


@click.command("activity")
@click.option("--rate", default=1.0, show_default=True, help="Changes per second.")
@click.option("--duration", default=60.0, show_default=True, help="Seconds to run.")
@click.option(
    "--what",
    type=click.Choice(["all", "notifications", "status", "activity"]),
    default="all",
    show_default=True,
    help="Which kind of change to make.",
)
@click.option("--user", "user_name_", help="Only notify this user.")
@click.option("--seed", type=int, help="Random seed, for repeatable runs.")
@with_appcontext
def activity_command(
    rate: float, duration: float, what: str, user_name_: str | None, seed: int | None
) -> None:
    """Make random changes at a steady rate, to watch 304s turn into 200s."""
    if rate <= 0:
        raise click.BadParameter("must be positive", param_hint="--rate")
    rng = random.Random(seed)
    users = db.session.scalars(db.select(User.id).order_by(User.id)).all()
    if user_name_ is not None:
        users = db.session.scalars(db.select(User.id).filter_by(name=user_name_)).all()
        if not users:
            raise click.BadParameter(
                f"no user named {user_name_!r}", param_hint="--user"
            )
    services = db.session.scalars(db.select(Service)).all()
    kinds = ["notifications", "status", "activity"] if what == "all" else [what]
    made = 0
    deadline = time.monotonic() + duration
    try:
        while time.monotonic() < deadline:
            kind = rng.choice(kinds)
            if kind == "notifications":
                db.session.add(
                    Notification(
                        user_id=rng.choice(users), text=f"Event {rng.randint(1, 9999)}"
                    )
                )
            elif kind == "status":
                rng.choice(services).state = rng.choice(STATES)
            else:
                db.session.add(
                    Activity(
                        kind=rng.choice(KINDS),
                        amount=rng.randint(1, 500),
                        user_id=rng.choice(users),
                    )
                )
            db.session.commit()
            made += 1
            time.sleep(1 / rate)
    except KeyboardInterrupt:
        pass
    click.echo(f"Made {made} changes.")
