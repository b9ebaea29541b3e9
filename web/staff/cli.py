"""Command-line tools (run them with the project's environment, e.g. `.venv/app/bin/flask --app web ...`):

    flask --app web staff create EMAIL [--role staff|editor] [--language sv|en] [--password-stdin]
    flask --app web staff set-password EMAIL [--password-stdin]
    flask --app web staff disable EMAIL
    flask --app web staff list
    flask --app web leads send-notifications
    flask --app web leads retention

Each first brings the database schema up to date (Alembic upgrade head)."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

import settings
from web.leads import db, notify, retention
from web.leads.migrate import upgrade
from web.leads.models import ROLES, STAFF_LANGUAGES, StaffUser
from web.staff import accounts

staff_cli = AppGroup("staff", help="Manage staff accounts of the staff workspace (/staff).")
leads_cli = AppGroup("leads", help="Lead notifications and retention.")


def _url() -> str:
    url = current_app.config["DATABASE_URL"]
    upgrade(url)
    return url


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise click.ClickException("no password on standard input")
        return line.rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@staff_cli.command("create")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input (for scripts).")
@click.option("--role", type=click.Choice(ROLES), default="staff", show_default=True,
              help="staff: everything; editor: the insights page only (no personal data).")
@click.option("--language", type=click.Choice(STAFF_LANGUAGES), default="sv", show_default=True,
              help="The language of the staff pages for this user (each user can change it on the pages).")
def create_staff(email: str, password_stdin: bool, role: str, language: str) -> None:
    """Create a staff user who can sign in at /staff/login."""
    url = _url()
    password = _read_password(password_stdin)
    try:
        with db.session_scope(url) as session:
            user = accounts.create_user(session, email, password, role, language)
            address = user.email
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {role} user {address}.")


@staff_cli.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def set_password(email: str, password_stdin: bool) -> None:
    """Set a new password (also unlocks the account)."""
    url = _url()
    password = _read_password(password_stdin)
    try:
        with db.session_scope(url) as session:
            accounts.set_password(session, email, password)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("Password changed.")


@staff_cli.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Stop a staff user from signing in (signed-in sessions end at their next request)."""
    with db.session_scope(_url()) as session:
        user = accounts.find_user(session, email)
        if user is None:
            raise click.ClickException(f"no staff user {email!r}")
        user.active = False
    click.echo(f"Disabled {email}.")


@staff_cli.command("list")
def list_staff() -> None:
    """List staff users."""
    with db.session_scope(_url()) as session:
        for user in session.scalars(select(StaffUser).order_by(StaffUser.email)):
            state = "active" if user.active else "disabled"
            click.echo(f"{user.email}\t{user.role}\t{state}")


@leads_cli.command("send-notifications")
def send_notifications() -> None:
    """Send the new-lead emails that are due now (the web process also does this in the background)."""
    url = _url()
    config = current_app.config.get("MAIL") or notify.MailConfig.from_settings()
    if not config.configured:
        raise click.ClickException("set MOVE_SMTP_HOST and MOVE_LEADS_NOTIFY_TO to send notifications")
    report = notify.send_due(config, url)
    click.echo(f"sent {report.sent}, failed {report.failed} (will be retried), still pending {notify.pending_count(url)}")
    for error in report.errors:
        click.echo(f"  {error}", err=True)


@leads_cli.command("retention")
def retention_command() -> None:
    """Delete chat text older than MOVE_CHAT_RETENTION_DAYS (lead transcripts, chat turns and Rasa's
    stored conversations), erase leads closed more than MOVE_CLOSED_LEAD_RETENTION_DAYS ago, and mask
    personal data in Rasa's conversations idle for MOVE_TRACKER_MASK_AFTER_MINUTES or whose contact
    form has finished. The web process also runs this every MOVE_RETENTION_INTERVAL_MINUTES."""
    report = retention.run_job(_url(), current_app.config.get("TRACKER_DB") or settings.TRACKER_DB)
    if report is None:
        click.echo("skipped: another retention run is in progress (it does the same work)")
        return
    click.echo(report.summary())


def register(app: Flask) -> None:
    app.cli.add_command(staff_cli)
    app.cli.add_command(leads_cli)
