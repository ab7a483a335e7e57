"""Model serving: an ASGI app (MLflow-compatible ``/invocations``), weighted and sticky routing with a
shadow, prediction logging, Prometheus metrics, and deployers that run it. Imports no IPython."""
