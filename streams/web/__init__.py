"""bounceflow's web port: /health, /metrics, the live JSON pages and the report pages, served by
the worker (``bounceflow worker`` with a web port), ``bounceflow deliver`` and ``bounceflow
serve``. ``server.py`` does the I/O; the rendering modules are pure."""
