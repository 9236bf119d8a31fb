"""The privacy overlay on the real collector (otelcol.yaml + privacy.yaml, both unchanged):
sessions recorded with content capture on reach Jaeger without any content key, and with
everything else; the score's explanation (content) is dropped from its log record too. (Without the overlay the same program's content does reach Jaeger:
test_production_path.py reads it there.)
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from sentrial_otel import semconv
from tests.backends.agents import FRONT_DOORS_SPANS, agent_env, run_program
from tests.support.backends import Jaeger, Otelcol

pytestmark = pytest.mark.slow


def test_privacy_overlay_removes_every_content_key(jaeger: Jaeger, tmp_path: Path) -> None:
    service = f"privacy-{uuid.uuid4().hex[:8]}"
    run = uuid.uuid4().hex
    with Otelcol(["otelcol.yaml", "privacy.yaml"], jaeger=jaeger, keys=["k"],
                 workdir=tmp_path / "otelcol",
                 env={"DECISION_WAIT": "1s", "BASELINE_SAMPLING_PERCENTAGE": "100"}) as otelcol:
        env = agent_env(otelcol.http_endpoint, service, tmp_path / "home", SENTRIAL_API_KEY="k")
        ids, _ = run_program(env, "front-doors", run)
        traces = jaeger.wait_for_traces(service, {"sentrial.metadata.run": run}, count=3,
                                        spans=FRONT_DOORS_SPANS, settle=1.0)
        scores = otelcol.wait_for_scores(1)
    keys = {tag["key"] for trace in traces for span in trace["spans"] for tag in span["tags"]}
    assert keys & set(semconv.CONTENT_KEYS) == set()
    # What is not content is still there: ids, names, tokens, costs, outcome.
    assert {"sentrial.session.id", "gen_ai.agent.name", "gen_ai.tool.name",
            "gen_ai.usage.input_tokens", "sentrial.session.cost.usd",
            "sentrial.session.success"} <= keys
    assert len(traces) == 3
    (score,) = scores
    score_keys = {kv.key for kv in score.attributes}
    assert score_keys & set(semconv.LOG_CONTENT_KEYS) == set()
    assert {"gen_ai.evaluation.name", "gen_ai.evaluation.score.value",
            "gen_ai.evaluation.score.label", "sentrial.session.id"} <= score_keys
    assert ids["facade"] in {kv.value.string_value for kv in score.attributes}

