from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"

    def ready(self):
        from dashboard import layer

        layer.install()  # before the first get_channel_layer() builds the layer
