"""The engine's private modules: nothing here is public API.

Import from ``sentrial_otel`` (and ``sentrial_otel.instrumentation.langchain``,
``sentrial_otel.semconv``, ``sentrial_otel.config``) instead; names in here may change in
any release. The packages follow the data flow (docs/architecture.md):
``content`` (what may leave the process, encoded) -> ``spans`` (steps of a session as
spans, and its scores) -> ``export`` (where they go); ``process`` ends it all when the
process ends (exit, SIGTERM, a multiprocessing child) and carries sessions into pools.
"""
