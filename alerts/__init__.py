"""Alerts: notification delivery through apprise (delivery, destinations, send), the
feed's own system alerts (system) and the market alert rules (rules and evaluate in
the feed; models, admin and ruleset on the Django side: alerts.apps). The feed's
modules import no Django: the minimal deployment's feed sends alerts itself."""
