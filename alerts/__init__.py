"""Alerts: notification delivery through apprise (delivery, destinations, send) and
the feed's own system alerts (system). Importable without Django: the minimal
deployment's feed sends them itself."""
