from django.apps import AppConfig


class EmbedConfig(AppConfig):
    name = "embed"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from embed import schema  # noqa: F401 - registers the OpenAPI extension
