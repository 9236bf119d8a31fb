"""Start Arize Phoenix for the tests (run with .venv-phoenix's interpreter; settings come
from the ``PHOENIX_*`` environment that ``tests/support/phoenix_server.py`` sets).

Phoenix 20.26 binds its OTLP/gRPC receiver to ``[::]`` whatever ``PHOENIX_HOST`` says
(``phoenix/server/grpc_server.py``: ``add_insecure_port(f"[::]:{port}")``), and has no
setting to turn it off outside read-only mode. Tests listen on loopback only, so this
launcher starts it with that receiver disabled; OTLP/HTTP (``/v1/traces``), the UI, REST and
GraphQL stay on ``PHOENIX_HOST:PHOENIX_PORT``.
"""

from __future__ import annotations

import sys
from typing import Any

import phoenix.server.grpc_server as grpc_server

_init = grpc_server.GrpcServer.__init__


def _without_grpc(self: Any, *args: Any, **kwargs: Any) -> None:
    kwargs["disabled"] = True
    _init(self, *args, **kwargs)


grpc_server.GrpcServer.__init__ = _without_grpc  # type: ignore[method-assign]

from phoenix.server.main import main  # noqa: E402 - after the patch

if __name__ == "__main__":
    sys.argv = ["phoenix", "serve"]
    sys.exit(main())
