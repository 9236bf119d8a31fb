"""Every shipped config is accepted by the engine it is for, unchanged: ``otelcol validate``
on each collector config (overlays together with their base) and ``jaeger validate`` on
jaeger.yaml, once with the compose defaults and once with the environment the tests use.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.backends import CONFIG_DIR, Jaeger, Otelcol, binary

pytestmark = pytest.mark.slow

COLLECTOR_CONFIGS = [
    ["otelcol.yaml"],
    ["otelcol.yaml", "privacy.yaml"],
    ["otelcol.yaml", "jaeger-only.yaml"],
    ["otelcol-tier1.yaml"],
    ["otelcol-tier2.yaml"],
    ["otelcol-tier2.yaml", "privacy.yaml"],
]
# The variables the configs read; the compose defaults apply when they are unset.
CONFIG_VARIABLES = ("OTLP_GRPC_ENDPOINT", "OTLP_HTTP_ENDPOINT", "HEALTH_ENDPOINT",
                    "API_KEYS_FILE", "JAEGER_OTLP_ENDPOINT", "TEMPO_OTLP_ENDPOINT",
                    "PROMETHEUS_ENDPOINT", "TIER2_HOSTNAMES", "TIER2_OTLP_ENDPOINT",
                    "DECISION_WAIT", "BASELINE_SAMPLING_PERCENTAGE", "SCORES_FILE")


def _without_config_variables() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}


@pytest.mark.parametrize("configs", COLLECTOR_CONFIGS, ids="+".join)
def test_otelcol_validates_with_the_compose_defaults(engines_built: None, configs: list[str]) -> None:
    result = subprocess.run(
        [str(binary("otelcol")), "validate", *(f"--config={CONFIG_DIR / c}" for c in configs)],
        env=_without_config_variables(), capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("configs", COLLECTOR_CONFIGS, ids="+".join)
def test_otelcol_validates_with_test_endpoints(engines_built: None, configs: list[str],
                                               tmp_path) -> None:
    collector = Otelcol(configs, keys=["k"], workdir=tmp_path, env={
        "TIER2_HOSTNAMES": "[127.0.0.1:14317, 127.0.0.1:24317]",
        "DECISION_WAIT": "2s", "BASELINE_SAMPLING_PERCENTAGE": "25",
    })
    result = collector.validate()
    assert result.returncode == 0, result.stderr


def test_a_broken_config_fails_validation(engines_built: None, tmp_path) -> None:
    """validate really checks: a misspelled processor in a pipeline is refused."""
    broken = tmp_path / "broken.yaml"
    broken.write_text((CONFIG_DIR / "otelcol.yaml").read_text().replace(
        "processors: [memory_limiter, tail_sampling, batch]",
        "processors: [memory_limiter, tail_samplin, batch]"))
    result = subprocess.run([str(binary("otelcol")), "validate", f"--config={broken}"],
                            env=_without_config_variables(), capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode != 0
    assert "tail_samplin" in result.stderr


def test_jaeger_validates(engines_built: None, tmp_path) -> None:
    jaeger = Jaeger(workdir=tmp_path)
    for env in (_without_config_variables(), {**os.environ, **jaeger.env}):
        result = subprocess.run([str(binary("jaeger")), "validate",
                                 f"--config={CONFIG_DIR / 'jaeger.yaml'}"],
                                env=env, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
