from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        # The feed reads rules from Redis only: every committed change goes there.
        # Importing ruleset also registers its Celery task (alerts.sync).
        from alerts import ruleset
        from alerts.models import AlertRule

        post_save.connect(ruleset.rule_changed, sender=AlertRule)
        post_delete.connect(ruleset.rule_changed, sender=AlertRule)
