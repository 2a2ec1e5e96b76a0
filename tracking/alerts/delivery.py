"""Sending one AlertDelivery (the worker runs it). Being built: see issue 15."""

from django.tasks import task


@task
def deliver(*, delivery_id: int, attempt: int = 1) -> str:
    raise NotImplementedError("alert delivery is being built")
