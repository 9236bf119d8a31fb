"""``@tool`` and ``@session``: instrumentation by decoration, for sync and async functions."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from sentrial._default import default_client
from sentrial_otel._internal.content.encoding import describe
from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.spans.session import current_session

F = TypeVar("F", bound=Callable[..., Any])


def _bound_arguments(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        bound = inspect.signature(function).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return {"args": list(args), "kwargs": kwargs}
    arguments = dict(bound.arguments)
    for implicit in ("self", "cls"):
        arguments.pop(implicit, None)
    return arguments


def _enter_tool_call(stack: contextlib.ExitStack, name: str, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Open a tool span in the current session; None outside a session or on our error."""
    session = current_session()
    if session is None:
        return None
    # The tool must run even if we cannot trace it (strict mode raises a misuse).
    strict = getattr(session.recording.report, "strict", False)
    with handle_internal_errors(f"tracing the tool {describe(name)}", strict=strict):
        return stack.enter_context(session.tool(name, _bound_arguments(function, args, kwargs)))
    return None


def _decorate_tool(function: F, name: str | None) -> F:
    # Checked where the session takes it, with the session's strictness.
    tool_name: Any = name if name is not None else getattr(function, "__name__", "tool")
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            with contextlib.ExitStack() as stack:
                call = _enter_tool_call(stack, tool_name, function, args, kwargs)
                result = await function(*args, **kwargs)
                if call is not None:
                    call.result = result
                return result

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with contextlib.ExitStack() as stack:
            call = _enter_tool_call(stack, tool_name, function, args, kwargs)
            result = function(*args, **kwargs)
            if call is not None:
                call.result = result
            return result

    return wrapper  # type: ignore[return-value]


@overload
def tool(function: F) -> F: ...
@overload
def tool(function: str | None = None, *, name: str | None = None) -> Callable[[F], F]: ...


def tool(function: Any = None, *, name: str | None = None) -> Any:
    """Record each call as a tool call of the current session: ``@tool``, ``@tool("name")``,
    ``@tool(name="name")``. Arguments are the input, the return value the output; an
    exception is recorded and re-raised. Outside a session the function just runs."""
    if callable(function):
        return _decorate_tool(function, name)
    label = function if isinstance(function, str) else name
    return lambda fn: _decorate_tool(fn, label)


def _session_inputs(
    function: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    user_id_param: str,
    input_param: str,
    message_param: str,
) -> tuple[Any, Any]:
    arguments = _bound_arguments(function, args, kwargs)
    user_id = arguments.get(user_id_param)
    value = arguments.get(input_param)
    if value is None:
        value = arguments.get(message_param)
    if value is None:
        value = next((v for k, v in arguments.items() if isinstance(v, str) and k != user_id_param), None)
    return (user_id if user_id is not None else "anonymous"), value


def _decorate_session(
    function: F, agent_name: str | None, user_id_param: str, input_param: str, message_param: str
) -> F:
    agent: Any = agent_name if agent_name is not None else getattr(function, "__name__", "agent")

    def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with handle_internal_errors(
            f"beginning the session {describe(agent)}", strict=default_client().strict
        ):
            user_id, value = _session_inputs(function, args, kwargs, user_id_param, input_param, message_param)
            return default_client().begin(user_id=user_id, event=agent, input=value)
        return None

    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            interaction = begin(args, kwargs)
            if interaction is None:
                return await function(*args, **kwargs)
            with interaction:
                result = await function(*args, **kwargs)
                interaction.set_output(result)
                return result

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        interaction = begin(args, kwargs)
        if interaction is None:
            return function(*args, **kwargs)
        with interaction:
            result = function(*args, **kwargs)
            interaction.set_output(result)
            return result

    return wrapper  # type: ignore[return-value]


def session(
    function: Any = None,
    *,
    agent_name: str | None = None,
    user_id_param: str = "user_id",
    input_param: str = "input",
    message_param: str = "message",
) -> Any:
    """Run the function as a session: ``@session``, ``@session("agent")``, or with keywords.

    The user id comes from the ``user_id_param`` argument, the input from ``input_param``,
    ``message_param`` or the first str argument; the return value is the output, and an
    exception marks the session failed and is re-raised.
    """
    if callable(function):
        return _decorate_session(function, agent_name, user_id_param, input_param, message_param)
    label = function if isinstance(function, str) else agent_name
    return lambda fn: _decorate_session(fn, label, user_id_param, input_param, message_param)
