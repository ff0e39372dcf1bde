"""The web process's health endpoints (/healthz, /readyz) and Prometheus metrics
(/metrics): wiring over the read model (options.read), no models of its own."""
