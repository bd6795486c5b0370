from django.apps import AppConfig


class BlueclerkConfig(AppConfig):
    name = "blueclerk"
    verbose_name = "Organizations"
