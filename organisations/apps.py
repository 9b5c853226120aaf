from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "organisations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from organisations import checks, schema  # noqa: F401 - register the check, the OpenAPI extensions
