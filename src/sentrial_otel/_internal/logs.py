"""The ``sentrial`` logger tree: every module of ours logs under it.

docs/troubleshooting.md tells users to configure the ``sentrial`` logger, and the tests
capture it; a module that needs its own level (the local store, say) takes a child with
``logger.getChild(...)`` so it stays in the tree.
"""

from __future__ import annotations

import logging

# No NullHandler on purpose: with no logging configured, Python's last-resort handler shows
# our warnings (a dead collector, spans not delivered) on stderr, as the OpenTelemetry SDK's.
logger = logging.getLogger("sentrial")
