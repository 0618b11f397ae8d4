"""`flask jobs work` (once, for cron or a test) and `flask jobs work --forever` (the worker); status, retry."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from forum.extensions import db
from forum.jobs import services, worker

jobs_cli = AppGroup("jobs", help="Background jobs: the follow-up work of writes.")


@jobs_cli.command("work")
@click.option("--forever", is_flag=True, help="Keep running: run what is due, wait, repeat (a worker).")
@click.option("--interval", default=1.0, show_default=True, help="Seconds to wait when nothing is due.")
@click.option("--limit", default=500, show_default=True, help="At most this many jobs without --forever.")
def work_command(forever: bool, interval: float, limit: int) -> None:
    """Run every job that is due, then exit (or keep going with --forever)."""
    if forever:
        click.echo(f"Running jobs (polling every {interval:g} s when idle); stop with Ctrl-C or SIGTERM.")
        worker.run_forever(interval)
        return
    click.echo(str(worker.work_due(limit=limit)))


@jobs_cli.command("status")
def status_command() -> None:
    """How many jobs wait, run and failed; the failed ones with their last error."""
    click.echo(" ".join(f"{state}={count}" for state, count in services.counts().items()))
    for job in db.session.scalars(services.failed_jobs()):
        click.echo(
            f"failed #{job.id} {job.kind} {job.payload} after {job.attempts} attempts: {job.last_error}"
        )


@jobs_cli.command("retry")
@click.argument("job_ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Every failed job.")
def retry_command(job_ids: tuple[int, ...], everything: bool) -> None:
    """Put failed jobs back in the queue (the ids given, or --all)."""
    if not job_ids and not everything:
        raise click.UsageError("name the failed jobs to retry, or --all")
    click.echo(f"{services.retry_failed(None if everything else list(job_ids))} job(s) queued again.")
