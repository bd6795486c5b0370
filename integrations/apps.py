from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self):
        from . import receivers, schedules

        receivers.connect()
        post_migrate.connect(schedules.register_schedules, sender=self, dispatch_uid="integrations.schedules")
