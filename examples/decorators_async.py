"""Decorators and asyncio: ``@sentrial.tool``, ``@sentrial.session`` and ``SessionContext``.

    python examples/decorators_async.py
    sentrial-otel sessions list

The current session follows the code through ``await``: each asyncio task (and each
thread) has its own, so concurrent sessions never mix their events.
"""

import asyncio

import sentrial


# @tool records each call made inside a session as an `execute_tool {name}` span: the bound
# arguments are the input, the return value the output, the real duration is measured.
# Outside a session the function simply runs.
@sentrial.tool
def get_weather(city: str) -> dict:
    return {"city": city, "forecast": "sunny", "high_c": 24}


@sentrial.tool("search_flights")  # a name of your choosing
async def find_flights(origin: str, destination: str) -> list:
    await asyncio.sleep(0.01)  # stands in for a real API call
    return [{"flight": "XY123", "price_eur": 89}]


@sentrial.tool
def book(flight: str) -> str:
    # An exception is recorded on the tool span (status ERROR, `exception` event) and
    # re-raised unchanged: the decorator never swallows your errors.
    raise RuntimeError(f"flight {flight} is full")


# @session runs the whole function as one session. The user id comes from the `user_id`
# argument, the input from `message` (or `input`, or the first str argument), the
# return value is the output. An exception marks the session failed and is re-raised.
@sentrial.session("travel-agent")
async def plan_trip(user_id: str, message: str) -> str:
    weather = get_weather("Lisbon")
    flights = await find_flights("Paris", "Lisbon")
    return f"{weather['forecast']} in Lisbon; cheapest flight {flights[0]['flight']}"


@sentrial.session("booking-agent")
async def book_trip(user_id: str, message: str) -> str:
    return book("XY123")


async def main() -> None:
    # Two sessions running at the same time in two tasks: each tool span lands under
    # the root span of its own session.
    answers = await asyncio.gather(
        plan_trip("user_1", "A weekend in Lisbon?"),
        plan_trip("user_2", "Somewhere sunny?"),
    )
    print(answers)

    try:
        await book_trip("user_3", "Book XY123")
    except RuntimeError as error:
        print(f"booking failed as expected: {error}")

    # SessionContext: an explicit session boundary, as `with` or `async with`.
    async with sentrial.SessionContext(user_id="user_4", agent="weather-bot",
                                       input="Weather in Porto?") as ctx:
        assert sentrial.get_current_session_id() == ctx.session_id
        report = get_weather("Porto")
        ctx.set_output(f"{report['forecast']}, {report['high_c']} C")
    print(f"weather-bot session {ctx.session_id}")

    # Outside any session the decorated tool just runs, and records nothing.
    get_weather("Madrid")


if __name__ == "__main__":
    asyncio.run(main())
