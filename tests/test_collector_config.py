"""Static checks of collector-config/ (the real engines run them in tests/backends/).

What would silently find nothing, or drift, is checked here: YAML parses; every component
a pipeline names is defined and is in components.txt, which lists exactly the builder
manifest's modules (otelcol-builder.yaml, all at one release); every endpoint, file and
sampling knob comes from a documented ``${env:NAME:-default}`` whose default is the compose
value, and ports agree between the compose files and those defaults; the attribute keys in
sampling, metrics, privacy and dashboard queries are the ones our SDK writes
(sentrial_otel.semconv, which mirrors SEMCONV.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

from sentrial_otel import semconv  # noqa: E402 - after the importorskip guard

CONFIG_DIR = Path(__file__).resolve().parent.parent / "collector-config"
COLLECTOR_CONFIGS = ["otelcol.yaml", "otelcol-tier1.yaml", "otelcol-tier2.yaml"]
SECTIONS = {
    "receivers": "receiver",
    "processors": "processor",
    "exporters": "exporter",
    "connectors": "connector",
    "extensions": "extension",
}

# Every attribute key and value our SDK writes: what configs and queries may name.
SEMCONV_KEYS = {
    value
    for name, value in vars(semconv).items()
    if name.isupper() and isinstance(value, str) and "." in value
}
SEMCONV_METRICS = {
    value for name, value in vars(semconv).items() if name.startswith("METRIC_")
}


# ${env:NAME} or ${env:NAME:-default}: the collector's environment provider syntax.
ENV_REFERENCE = re.compile(r"\$\{env:([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")


def load_raw(name: str) -> Any:
    return yaml.safe_load((CONFIG_DIR / name).read_text())


def with_defaults(value: Any) -> Any:
    """The config as the collector reads it with no variable set: every reference becomes
    its default; a value that is only a reference is parsed as YAML, as the collector does
    (so "[a:1, b:2]" becomes a list and "10" a number)."""
    if isinstance(value, dict):
        return {key: with_defaults(item) for key, item in value.items()}
    if isinstance(value, list):
        return [with_defaults(item) for item in value]
    if isinstance(value, str) and ENV_REFERENCE.search(value):
        whole = ENV_REFERENCE.fullmatch(value)
        if whole:
            assert whole.group(2) is not None, f"{value}: give a default"
            return yaml.safe_load(whole.group(2))
        return ENV_REFERENCE.sub(lambda m: m.group(2) or "", value)
    return value


def load(name: str) -> Any:
    return with_defaults(load_raw(name))


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """The collector's --config merge: maps merge recursively, lists and scalars replace."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def component_lines() -> list[tuple[str, str, str]]:
    """(kind, type, go module) lines of components.txt."""
    lines = []
    for line in (CONFIG_DIR / "components.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            kind, component_type, module = line.split()
            assert module.split("/")[-1].startswith(component_type.replace("_", "")[:4]), line
            lines.append((kind, component_type, module))
    return lines


def contrib_components() -> set[tuple[str, str]]:
    """(kind, type) pairs from components.txt."""
    return {(kind, component_type) for kind, component_type, _ in component_lines()}


def component_type(component_id: str) -> str:
    """``otlp/jaeger`` -> ``otlp`` (the part before the slash names the component)."""
    return component_id.split("/", 1)[0]


def all_configs() -> dict[str, dict[str, Any]]:
    configs = {name: load(name) for name in COLLECTOR_CONFIGS}
    privacy = load("privacy.yaml")
    configs["otelcol.yaml+privacy.yaml"] = deep_merge(configs["otelcol.yaml"], privacy)
    configs["otelcol-tier2.yaml+privacy.yaml"] = deep_merge(configs["otelcol-tier2.yaml"], privacy)
    configs["otelcol.yaml+jaeger-only.yaml"] = deep_merge(configs["otelcol.yaml"],
                                                          load("jaeger-only.yaml"))
    return configs


CONFIGS = all_configs()


# --- YAML and component wiring --------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [p.name for p in sorted(CONFIG_DIR.glob("*.y*ml"))]
    + [str(p.relative_to(CONFIG_DIR)) for p in sorted(CONFIG_DIR.glob("grafana/**/*.yaml"))],
)
def test_yaml_parses(name: str) -> None:
    assert isinstance(load(name), dict)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_pipeline_component_is_defined_and_in_contrib(name: str) -> None:
    config = CONFIGS[name]
    known = contrib_components()
    service = config["service"]
    for extension in service.get("extensions", []):
        assert extension in config["extensions"], f"{name}: extension {extension} undefined"
    connectors = set(config.get("connectors", {}))
    for pipeline_id, pipeline in service["pipelines"].items():
        assert pipeline_id.split("/")[0] in ("traces", "metrics", "logs"), pipeline_id
        for role in ("receivers", "processors", "exporters"):
            for component in pipeline.get(role, []):
                # A connector is an exporter of one pipeline and a receiver of another.
                section = "connectors" if component in connectors else role
                assert component in config.get(section, {}), (
                    f"{name}: {pipeline_id} uses {component}, not defined under {section}"
                )
    for section, kind in SECTIONS.items():
        for component in config.get(section, {}) or {}:
            assert (kind, component_type(component)) in known, (
                f"{name}: {kind} {component} is not in components.txt (the contrib list)"
            )


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_connectors_are_used_on_both_sides(name: str) -> None:
    pipelines = CONFIGS[name]["service"]["pipelines"].values()
    for connector in CONFIGS[name].get("connectors", {}):
        assert any(connector in p.get("exporters", []) for p in pipelines), connector
        assert any(connector in p.get("receivers", []) for p in pipelines), connector


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_memory_limiter_first_and_batch_last(name: str) -> None:
    for pipeline_id, pipeline in CONFIGS[name]["service"]["pipelines"].items():
        processors = pipeline.get("processors", [])
        assert processors and processors[0] == "memory_limiter", pipeline_id
        if "batch" in processors:
            assert processors[-1] == "batch", pipeline_id


def test_jaeger_only_overlay_sends_to_jaeger_alone() -> None:
    sampling = CONFIGS["otelcol.yaml+jaeger-only.yaml"]["service"]["pipelines"]["traces/sampling"]
    assert sampling["exporters"] == ["otlp_grpc/jaeger"]
    assert sampling["processors"] == CONFIGS["otelcol.yaml"]["service"]["pipelines"][
        "traces/sampling"]["processors"]


def test_components_list_has_no_unused_entries() -> None:
    used = {
        (kind, component_type(component))
        for config in CONFIGS.values()
        for section, kind in SECTIONS.items()
        for component in config.get(section, {}) or {}
    }
    assert contrib_components() == used


def builder_manifest() -> dict[str, Any]:
    return load_raw("otelcol-builder.yaml")


def test_components_list_is_exactly_the_builder_manifest() -> None:
    """components.txt (what the configs may use) and the manifest scripts/backends builds
    name the same modules, and every collector module is at the manifest's one release."""
    manifest = builder_manifest()
    release = manifest["dist"]["version"]
    built = {}
    for section, kind in SECTIONS.items():
        for entry in manifest.get(section, []):
            module, version = entry["gomod"].split()
            built[module] = (kind, version)
    assert {module: kind for module, (kind, _) in built.items()} == {
        module: kind for kind, _, module in component_lines()
    }
    assert {version for _, version in built.values()} == {f"v{release}"}
    core = {entry["gomod"].split()[1] for entry in manifest["providers"]}
    assert len(core) == 1, f"the confmap providers are at one core release: {core}"


# Every value of these keys, in every collector config, is a ${env:NAME:-default}.
CONFIGURABLE_KEYS = {"endpoint", "filename", "path", "hostnames", "host", "port", "decision_wait",
                     "sampling_percentage", "max_traces"}


def raw_configurable_values(value: Any, path: str = "") -> list[tuple[str, Any]]:
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key in CONFIGURABLE_KEYS and not isinstance(item, dict):
                found.append((where, item))
            else:
                found.extend(raw_configurable_values(item, where))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(raw_configurable_values(item, f"{path}[{index}]"))
    return found


def readme_variables() -> set[str]:
    """The variables documented in collector-config/README.md's table."""
    readme = (CONFIG_DIR / "README.md").read_text()
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", readme, re.M))


@pytest.mark.parametrize("name", COLLECTOR_CONFIGS + ["privacy.yaml", "jaeger.yaml"])
def test_every_endpoint_file_and_knob_comes_from_a_documented_variable(name: str) -> None:
    values = raw_configurable_values(load_raw(name))
    assert values or name == "privacy.yaml"
    documented = readme_variables()
    for where, value in values:
        match = ENV_REFERENCE.fullmatch(str(value))
        assert match and match.group(2), f"{name}: {where} = {value!r} is not ${{env:NAME:-default}}"
        assert match.group(1) in documented, f"{name}: {match.group(1)} is not in README.md"


def test_readme_documents_only_variables_the_configs_read() -> None:
    used = {
        m.group(1)
        for name in COLLECTOR_CONFIGS + ["jaeger.yaml"]
        for m in ENV_REFERENCE.finditer((CONFIG_DIR / name).read_text())
    }
    assert readme_variables() == used


# --- Auth, sampling, privacy, metrics -------------------------------------------------------


@pytest.mark.parametrize("name", ["otelcol.yaml", "otelcol-tier1.yaml"])
def test_public_receivers_check_api_keys(name: str) -> None:
    config = CONFIGS[name]
    assert "bearertokenauth" in config["service"]["extensions"]
    for protocol in ("grpc", "http"):
        settings = config["receivers"]["otlp"]["protocols"][protocol]
        assert settings["auth"]["authenticator"] == "bearertokenauth"
    assert config["extensions"]["bearertokenauth"]["filename"] == "/etc/otelcol/api-keys"


def test_tail_sampling_keeps_failed_abandoned_costly_with_issues_and_a_share() -> None:
    sampling = CONFIGS["otelcol.yaml"]["processors"]["tail_sampling"]
    policies = {p["type"]: p for p in sampling["policies"]}
    assert policies["status_code"]["status_code"]["status_codes"] == ["ERROR"]
    booleans = {
        (p["boolean_attribute"]["key"], p["boolean_attribute"]["value"])
        for p in sampling["policies"]
        if p["type"] == "boolean_attribute"
    }
    assert booleans == {
        (semconv.SENTRIAL_SESSION_SUCCESS, False),
        (semconv.SENTRIAL_SESSION_ABANDONED, True),
    }
    # Every session the detectors found an issue in (docs/issues.md), whatever its outcome.
    assert policies["numeric_attribute"]["numeric_attribute"] == {
        "key": semconv.SENTRIAL_SESSION_ISSUE_COUNT, "min_value": 1,
    }
    (condition,) = policies["ottl_condition"]["ottl_condition"]["span"]
    assert f'attributes["{semconv.SENTRIAL_SESSION_COST_USD}"] >' in condition
    assert 0 < policies["probabilistic"]["probabilistic"]["sampling_percentage"] < 100


def test_tier2_samples_and_exports_exactly_like_the_single_collector() -> None:
    single, tier2 = CONFIGS["otelcol.yaml"], CONFIGS["otelcol-tier2.yaml"]
    for section in ("processors", "connectors", "exporters"):
        assert tier2[section] == single[section], section
    assert tier2["service"]["pipelines"] == single["service"]["pipelines"]


def test_tier1_routes_by_trace_id_to_tier2() -> None:
    tier1 = CONFIGS["otelcol-tier1.yaml"]
    balancer = tier1["exporters"]["load_balancing"]
    assert balancer["routing_key"] == "traceID"
    # The static resolver's default names exactly the compose file's tier-2 replicas.
    hostnames = balancer["resolver"]["static"]["hostnames"]
    services = load("docker-compose.scale-out.yaml")["services"]
    tier2 = sorted(name for name, s in services.items()
                   if "otelcol-tier2.yaml" in " ".join(s.get("command", [])))
    assert hostnames == [f"{name}:4317" for name in tier2] and len(tier2) == 2
    metrics_host = tier1["exporters"]["otlp_grpc/tier2"]["endpoint"].rsplit(":", 1)[0]
    assert metrics_host in tier2
    assert tier1["service"]["pipelines"]["traces"]["exporters"] == ["load_balancing"]
    assert "tail_sampling" not in tier1.get("processors", {})


def test_privacy_drops_exactly_the_content_keys() -> None:
    actions = load("privacy.yaml")["processors"]["attributes/drop-content"]["actions"]
    assert all(a["action"] == "delete" for a in actions)
    assert {a["key"] for a in actions} == set(semconv.CONTENT_KEYS | semconv.LOG_CONTENT_KEYS)
    for name in ("otelcol.yaml+privacy.yaml", "otelcol-tier2.yaml+privacy.yaml"):
        pipelines = CONFIGS[name]["service"]["pipelines"]
        processors = pipelines["traces/sampling"]["processors"]
        # Before sampling and export, so content never leaves this collector.
        assert processors.index("attributes/drop-content") < processors.index("tail_sampling")
        # The scores' explanations too.
        assert "attributes/drop-content" in pipelines["logs"]["processors"]


def test_scores_have_a_logs_pipeline_wherever_the_sdk_sends() -> None:
    """The SDK sends scores (log records) where it sends spans: every collector that
    receives from it has a logs pipeline; tier 1 hands them to tier 2, which writes them as
    otelcol.yaml does (test_tier2_samples_and_exports_exactly_like_the_single_collector)."""
    for name in ("otelcol.yaml", "otelcol-tier1.yaml", "otelcol-tier2.yaml"):
        logs = CONFIGS[name]["service"]["pipelines"]["logs"]
        assert logs["receivers"] == ["otlp"], name
    assert CONFIGS["otelcol.yaml"]["service"]["pipelines"]["logs"]["exporters"] == ["file/scores"]
    assert CONFIGS["otelcol-tier1.yaml"]["service"]["pipelines"]["logs"]["exporters"] == [
        "otlp_grpc/tier2"]


def test_spanmetrics_dimensions_are_semconv_keys() -> None:
    dimensions = CONFIGS["otelcol.yaml"]["connectors"]["span_metrics"]["dimensions"]
    names = {d["name"] for d in dimensions}
    assert semconv.GEN_AI_AGENT_NAME in names
    assert names <= SEMCONV_KEYS


def test_exporters_point_at_compose_services() -> None:
    exporters = CONFIGS["otelcol.yaml"]["exporters"]
    services = load("docker-compose.yaml")["services"]
    for exporter_id in ("otlp_grpc/jaeger", "otlp_grpc/tempo"):
        host, port = exporters[exporter_id]["endpoint"].rsplit(":", 1)
        assert host in services and port == "4317", exporter_id
    tempo = load("tempo.yaml")
    assert tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(
        ":4317"
    )


# --- Ports ----------------------------------------------------------------------------------


def published_ports(service: dict[str, Any]) -> dict[int, int]:
    """container port -> host port, from "127.0.0.1:HOST:CONTAINER" entries."""
    ports = {}
    for entry in service.get("ports", []):
        parts = str(entry).split(":")
        assert parts[0] == "127.0.0.1", f"{entry}: publish on loopback only"
        ports[int(parts[-1])] = int(parts[-2])
    return ports


def endpoint_port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def test_compose_ports_agree_with_configs() -> None:
    compose = load("docker-compose.yaml")
    services = compose["services"]
    collector = CONFIGS["otelcol.yaml"]
    otelcol_ports = published_ports(services["otelcol"])
    protocols = collector["receivers"]["otlp"]["protocols"]
    assert endpoint_port(protocols["grpc"]["endpoint"]) == 4317 == otelcol_ports[4317]
    assert endpoint_port(protocols["http"]["endpoint"]) == 4318 == otelcol_ports[4318]
    assert endpoint_port(collector["extensions"]["health_check"]["endpoint"]) in otelcol_ports
    prometheus_port = endpoint_port(collector["exporters"]["prometheus"]["endpoint"])
    assert prometheus_port in otelcol_ports
    scrape = load("prometheus.yml")["scrape_configs"][0]["static_configs"][0]["targets"]
    assert scrape == [f"otelcol:{prometheus_port}"]
    scale_out = load("prometheus-scale-out.yml")["scrape_configs"][0]["static_configs"][0]
    assert scale_out["targets"] == [f"otelcol-tier2-{n}:{prometheus_port}" for n in (1, 2)]
    assert load("tempo.yaml")["server"]["http_listen_port"] in published_ports(services["tempo"])
    assert 16686 in published_ports(services["jaeger"])
    assert 3000 in published_ports(services["grafana"])
    assert 9090 in published_ports(services["prometheus"])


def test_compose_mounts_exist() -> None:
    for compose_file in ("docker-compose.yaml", "docker-compose.scale-out.yaml"):
        compose = load(compose_file)
        for name, service in compose["services"].items():
            for volume in service.get("volumes", []):
                source = volume.split(":")[0]
                if source.startswith("./") and source != "./api-keys":
                    assert (CONFIG_DIR / source).exists(), f"{compose_file} {name}: {source}"
                elif not source.startswith("./"):  # a named volume: declared in the file
                    assert source in (compose.get("volumes") or {}), f"{compose_file} {name}"
    assert (CONFIG_DIR / "api-keys.example").exists()


def test_grafana_datasources_match_compose_ports() -> None:
    sources = load("grafana/provisioning/datasources/datasources.yaml")["datasources"]
    by_uid = {s["uid"]: s["url"] for s in sources}
    services = load("docker-compose.yaml")["services"]
    for uid, service in (("prometheus", "prometheus"), ("tempo", "tempo"), ("jaeger", "jaeger")):
        url = by_uid[uid]
        assert url.startswith(f"http://{service}:")
        assert endpoint_port(url) in published_ports(services[service])


# --- Dashboard ------------------------------------------------------------------------------

DASHBOARD = CONFIG_DIR / "grafana" / "dashboards" / "sessions.json"
# Labels that spanmetrics / Prometheus add themselves (not span attributes).
BUILTIN_LABELS = {"le", "status_code", "span_name", "span_kind", "service_name", "job", "instance"}
SPANMETRICS_METRICS = {"traces_span_metrics_calls", "traces_span_metrics_duration_bucket"}
PROMQL_FUNCTIONS = {"sum", "rate", "increase", "histogram_quantile", "by", "label_values"}


def dashboard_queries() -> tuple[list[str], list[str]]:
    """(PromQL expressions, TraceQL queries) of every panel and variable."""
    board = json.loads(DASHBOARD.read_text())
    promql, traceql = [], []
    for panel in board["panels"]:
        for target in panel["targets"]:
            if target["datasource"]["type"] == "tempo":
                traceql.append(target["query"])
            else:
                promql.append(target["expr"])
    for variable in board["templating"]["list"]:
        promql.append(variable["query"]["query"])
    return promql, traceql


def prom_name(key: str) -> str:
    return key.replace(".", "_")


def test_dashboard_is_valid_json_with_unique_panel_ids() -> None:
    board = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)) and board["uid"] == "sentrial-sessions"


def test_dashboard_promql_names_semconv_labels_and_metrics() -> None:
    promql, _ = dashboard_queries()
    allowed_labels = {prom_name(k) for k in SEMCONV_KEYS} | BUILTIN_LABELS
    allowed_metrics = SPANMETRICS_METRICS | {
        prom_name(m) + suffix
        for m in SEMCONV_METRICS
        for suffix in ("", "_sum", "_count", "_bucket")
    }
    for expr in promql:
        labels = set(re.findall(r"([a-z_][a-z0-9_]*)\s*(?:=~|!=|=)\s*\"", expr))
        for group in re.findall(r"by \(([^)]*)\)", expr):
            labels |= {label.strip() for label in group.split(",")}
        labels |= set(re.findall(r"label_values\([^,]+,\s*([a-z_]+)\)", expr))
        assert labels <= allowed_labels, (expr, labels - allowed_labels)
        metrics = set(re.findall(r"([a-z_][a-z0-9_]*)\s*[{\[]", expr)) | set(
            re.findall(r"label_values\(([a-z_]+)", expr)
        )
        assert metrics - PROMQL_FUNCTIONS <= allowed_metrics, (expr, metrics - allowed_metrics)


def test_dashboard_traceql_names_semconv_attributes() -> None:
    _, traceql = dashboard_queries()
    assert traceql
    for query in traceql:
        keys = set(re.findall(r"\bspan\.([a-z0-9_.]+?)\s*(?:=|!=|>|<)", query))
        assert keys and keys <= SEMCONV_KEYS, (query, keys - SEMCONV_KEYS)


def test_readme_searches_name_semconv_attributes() -> None:
    """TraceQL in the README (lines starting with '{') uses only keys our SDK writes."""
    readme = (CONFIG_DIR / "README.md").read_text()
    queries = [line.strip() for line in readme.splitlines() if line.strip().startswith("{ ")]
    assert len(queries) >= 4
    for query in queries:
        keys = set(re.findall(r"\b(?:span|resource)\.([a-z0-9_.]+?)\s*(?:=|!=|>|<)", query))
        assert keys <= SEMCONV_KEYS | {"service.name"}, (query, keys)
