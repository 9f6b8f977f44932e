"""The service's own HTTP side: the server (health, metrics, platform webhooks), the health state, the metrics."""
