"""The django-q2 schedules integrations needs, registered idempotently after every migrate."""

SCHEDULES = (
    # (name, function, every N minutes)
    ("integrations: sync sweep", "integrations.tasks.sync_sweep", 1),
    ("integrations: pull changes", "integrations.tasks.pull_all_connections", 15),
    ("integrations: keep connections alive", "integrations.tasks.connections_keep_alive", 6 * 60),
)


def register_schedules(**kwargs):
    """Create or correct the schedules; a second call changes nothing (post_migrate receiver)."""
    from django_q.models import Schedule

    for name, func, minutes in SCHEDULES:
        schedule = Schedule.objects.filter(name=name).first()
        wanted = {"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1}
        if schedule is None:
            Schedule.objects.create(name=name, **wanted)
        elif any(getattr(schedule, field) != value for field, value in wanted.items()):
            for field, value in wanted.items():
                setattr(schedule, field, value)
            schedule.save()
