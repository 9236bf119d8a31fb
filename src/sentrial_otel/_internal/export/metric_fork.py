"""A fork child's metrics count what the child did, not what its parent did before the fork.

The meter provider we build exports cumulative sums and histograms. A fork child inherits
its parent's accumulated state; the SDK gives the child its own ``service.instance.id``
after the fork (``ServiceInstanceIdResourceDetector``, process-dependent), so the child's
series are its own, but they start from the parent's counts and the parent's start time: a
backend summing over instances counts the parent's sessions once per child again.

In the child, each reader of a provider we built gets a fresh, empty storage: the SDK's own
``add_metric_reader`` builds it (re-adding a reader replaces its storage), and the first
measurement in the child starts its series with the child's start time. That is one reach
into the SDK (``MeterProvider._measurement_consumer``, opentelemetry-sdk 1.45); where it is
not there, the child keeps the inherited counts and says so once, at info level.
An application's own MeterProvider is never touched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.forksafe import in_fork_children
from sentrial_otel._internal.logs import logger

# A fork must go on whatever happens here; what fails is worth a debug line.
_FORK_GOES_ON = handle_internal_errors("emptying metrics after fork", level=logging.DEBUG)


def start_from_zero_in_fork_children(provider: Any) -> None:
    """Have every fork child of this process start ``provider``'s metrics from zero."""
    in_fork_children(provider, _forget_quietly)


def _forget_quietly(provider: Any) -> None:
    with _FORK_GOES_ON:
        forget_inherited_counts(provider)


def forget_inherited_counts(provider: Any) -> bool:
    """Give each of ``provider``'s readers an empty storage; False (said at info level) when
    this SDK release does not let us."""
    consumer: Any = getattr(provider, "_measurement_consumer", None)
    storages = getattr(consumer, "_reader_storages", None)
    if not isinstance(storages, Mapping) or not callable(getattr(consumer, "add_metric_reader", None)):
        logger.info(
            "sentrial: this opentelemetry-sdk release keeps a fork child's inherited metric "
            "counts; the child's cumulative metrics include its parent's before the fork"
        )
        return False
    # The SDK's fork handler renews the provider's locks but not this one, which a parent
    # thread collecting at the moment of the fork would leave held forever.
    consumer._lock = threading.Lock()
    for reader in list(storages):
        consumer.add_metric_reader(reader)
    return True
