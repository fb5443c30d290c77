"""Background tasks of the algorithm app (Django's tasks framework, django-tasks-db backend).

`manage.py db_worker` runs them (`make run` starts one next to the web server;
with PostgreSQL, workers on several machines share the queue). See
docs/adr/0007-background-tasks.md for why.
"""

from __future__ import annotations

from django.tasks import task

from algorithm import impact
from regimens.models import AlgorithmVersion, ImpactRun, ImpactStatus


@task()
def run_impact(run_id: int) -> dict:
    """Run a stored ImpactRun (progress and results go to its row); returns its counts."""
    run = ImpactRun.objects.select_related("draft", "against").get(pk=run_id)
    return impact.execute(run).counts


def start_impact(draft: AlgorithmVersion, against: AlgorithmVersion, user=None) -> ImpactRun:
    """The run for the current inputs: the one queued, running or done if there is one, else a new one
    handed to the task worker."""
    inputs = impact.current_inputs(draft, against)
    run = (
        ImpactRun.objects.filter(draft=draft, against=against, inputs=inputs)
        .exclude(status=ImpactStatus.FAILED)
        .order_by("-created_at", "-pk")
        .first()
    )
    if run is not None:
        return run
    run = ImpactRun.objects.create(draft=draft, against=against, inputs=inputs, requested_by=user)
    result = run_impact.enqueue(run.pk)
    run.task_id = str(result.id)
    run.save(update_fields=["task_id"])
    return run
