"""``flask --app example_app seed``: create and fill the tables."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from .models import db
from .models import Service

SERVICES = ("api", "web", "worker", "database", "cache", "search")


@click.command("seed")
@click.option("--reset", is_flag=True, help="Drop all tables and seed again.")
@with_appcontext
def seed_command(reset: bool) -> None:
    """Create the tables and seed them once; with --reset, from scratch."""
    if reset:
        db.drop_all()
    db.create_all()
    if db.session.scalar(db.select(db.func.count()).select_from(Service)):
        click.echo("Already seeded; use --reset to start again.")
        return
    db.session.add_all(Service(name=name) for name in SERVICES)
    db.session.commit()
    click.echo(f"Seeded {len(SERVICES)} services.")
