from django.apps import AppConfig

from credentials.signals import credential_uses


class ConnectorsConfig(AppConfig):
    name = "connectors"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Models can be imported only once the apps are loaded.
        from connectors.selectors import credential_named_by_config
        from credentials.models import Credential

        credential_uses.connect(
            credential_named_by_config, sender=Credential, dispatch_uid="connectors.configs"
        )
