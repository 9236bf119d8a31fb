"""Full control: ``SentrialClient`` with explicit session ids, and a session that fails.

    python examples/full_control.py
    sentrial-otel sessions list --status failed

Every call takes the session id, so events can be tracked from any thread, task or
process (see cross_process.py): they all land in the session's trace.
"""

import sentrial

# A client of its own (the module-level `sentrial.begin` uses a default one). As a
# context manager it flushes and shuts down on exit.
with sentrial.SentrialClient() as client:

    # --- a session that succeeds ---------------------------------------------------------
    session_id = client.create_session(
        name="Customer Support Request",  # free text, on the root as sentrial.session.name
        agent_name="support-agent",       # the root span is `invoke_agent support-agent`
        user_id="user_123",
        convo_id="conv_456",
        metadata={"ticket_id": "TKT-789", "priority": "high"},  # sentrial.metadata.*
    )

    client.track_tool_call(
        session_id=session_id,
        tool_name="lookup_order",
        tool_input={"order_id": "A-1001"},
        tool_output={"status": "shipped", "eta_days": 2},
        reasoning="The ticket mentions order A-1001",
        estimated_cost=0.001,
    )
    client.track_decision(
        session_id=session_id,
        reasoning="The order shipped; tell the user the delivery date",
        alternatives=["refund", "escalate_to_human"],
        confidence=0.88,
    )
    client.track_llm_call(
        session_id,
        provider="anthropic",
        model="claude-3-5-haiku",
        input="Where is my order A-1001?",
        output="It shipped and should arrive in two days.",
        prompt_tokens=640,
        completion_tokens=42,
    )
    # Totals not given here (cost, tokens) are summed from the events above.
    client.complete_session(
        session_id=session_id,
        success=True,
        custom_metrics={"satisfaction": 4.5, "turns": 3},  # sentrial.metric.*
        user_input="Where is my order A-1001?",
        assistant_output="It shipped and should arrive in two days.",
    )
    print(f"completed session {session_id}")

    # --- a session that fails ------------------------------------------------------------
    failed_id = client.create_session(
        name="Refund request", agent_name="support-agent", user_id="user_456"
    )
    # A tool that returned an error: the tool span gets status ERROR and error.type.
    client.track_tool_call(
        session_id=failed_id,
        tool_name="issue_refund",
        tool_input={"order_id": "B-2002", "amount": 120.0},
        tool_output=None,
        tool_error={"message": "payment gateway timed out", "type": "GatewayTimeout"},
    )
    # An error outside any tool: an `exception` event on the session's root span.
    client.track_error(
        session_id=failed_id,
        error_message="could not complete the refund after 3 attempts",
        error_type="RefundFailed",
    )
    client.complete_session(
        session_id=failed_id,
        success=False,
        failure_reason="refund not issued",
    )
    print(f"failed session {failed_id}")
