"""``SessionTreeConsoleExporter``: a compact tree of each session, printed as it ends.

The public home of the exporter (see docs/cli.md); it is built in
``sentrial_otel._internal.export.console``.
"""

from sentrial_otel._internal.export.console import SessionTreeConsoleExporter

__all__ = ["SessionTreeConsoleExporter"]
