"""``handle_internal_errors``: our errors are logged and swallowed, never the user's."""

from __future__ import annotations

import asyncio

import pytest

from sentrial_otel._internal.errors import by_instance, handle_internal_errors


class Owner:
    def __init__(self, strict: bool) -> None:
        self.strict = strict

    @handle_internal_errors(fallback=dict, strict=by_instance)
    def broken(self) -> dict:
        raise KeyError("our bug")


def _logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    messages = [r.getMessage() for r in caplog.records if r.name == "sentrial"]
    caplog.clear()  # expected here; the autouse guard checks the other tests
    return messages


def test_a_decorated_function_returns_its_fallback_and_logs(caplog):
    assert Owner(strict=False).broken() == {}
    (message,) = _logged(caplog)
    assert message == "sentrial: internal error in Owner.broken; your code keeps running"


def test_strict_owners_get_the_error(caplog):
    with pytest.raises(KeyError, match="our bug"):
        Owner(strict=True).broken()
    assert _logged(caplog) == []


def test_a_with_block_is_left_and_the_code_after_it_runs(caplog):
    reached = []
    with handle_internal_errors("ending the span"):
        reached.append("before")
        raise RuntimeError("boom")
    reached.append("after")
    assert reached == ["before", "after"]
    assert _logged(caplog) == ["sentrial: internal error in ending the span; your code keeps running"]


def test_cancellation_and_interrupts_are_never_swallowed(caplog):
    with pytest.raises(asyncio.CancelledError):
        with handle_internal_errors("a step"):
            raise asyncio.CancelledError
    with pytest.raises(KeyboardInterrupt):
        handle_internal_errors()(lambda: (_ for _ in ()).throw(KeyboardInterrupt))()
    assert _logged(caplog) == []


def test_a_strict_with_block_re_raises(caplog):
    with pytest.raises(ValueError):
        with handle_internal_errors("begin", strict=True):
            raise ValueError("user_id is required")
    assert _logged(caplog) == []
