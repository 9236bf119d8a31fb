"""The current session, and ``SessionContext`` for explicit session boundaries."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sentrial._default import default_client
from sentrial.client import SentrialClient
from sentrial.interaction import Interaction
from sentrial_otel._internal.spans.session import current_session


def get_current_session_id() -> str | None:
    """The id of the innermost session open in this thread / asyncio task, or None."""
    session = current_session()
    return session.session_id if session is not None else None


def get_current_interaction() -> Interaction | None:
    """The ``Interaction`` of the innermost open session in this context, or None."""
    session = current_session()
    owner = session.owner if session is not None else None
    return owner if isinstance(owner, Interaction) else None


class SessionContext:
    """``with SessionContext(user_id, agent, input) as ctx:`` ... ``ctx.set_output(...)``.

    Works with ``async with`` too. An exception inside marks the session failed and is
    re-raised.
    """

    def __init__(
        self,
        user_id: Any,
        agent: Any,
        input: Any = None,  # noqa: A002
        client: SentrialClient | None = None,
    ) -> None:
        self.user_id = user_id
        self.agent = agent
        self.input = input
        self.client = client
        self.interaction: Interaction | None = None

    @property
    def session_id(self) -> str | None:
        return self.interaction.session_id if self.interaction is not None else None

    def set_output(self, output: Any) -> None:
        if self.interaction is not None:
            self.interaction.set_output(output)

    def __enter__(self) -> SessionContext:
        client = self.client or default_client()
        self.interaction = client.begin(user_id=self.user_id, event=self.agent, input=self.input)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.interaction is not None:
            self.interaction.__exit__(exc_type, exc, tb)

    async def __aenter__(self) -> SessionContext:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
