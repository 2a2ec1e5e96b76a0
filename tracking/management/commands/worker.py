"""`manage.py worker`: the background worker (django-tasks-db's db_worker, same options).

Before it starts taking tasks it puts back the tasks of workers that died mid-task and
makes sure the maintenance task is scheduled (tracking.periodic.maintain_tasks). Run as
many as you like: each task is claimed by one worker (SELECT ... FOR UPDATE SKIP LOCKED
on PostgreSQL, an exclusive transaction on SQLite).
"""

import os
from datetime import timedelta

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand

from tracking.periodic import schedule_maintenance
from tracking.tasks import requeue_stale_tasks


class Command(DBWorkerCommand):
    help = "Run the background worker (emails, maintenance); see README, The worker"

    def handle(self, *args, **options) -> None:
        # With --reload the parent only watches files; the child does the work.
        if not options.get("reload") or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            requeue_stale_tasks()
            schedule_maintenance(after=timedelta(0))
        super().handle(*args, **options)
