"""The documentation site builds without a warning, and says what the code does.

- ``mkdocs build --strict`` into a temporary directory (skipped only when mkdocs is not
  installed: ``pip install 'mkdocs==1.6.1'``);
- docs/attributes.md names exactly the attribute keys of ``sentrial_otel.semconv``, with
  the content-gated ones marked;
- docs/configuration.md names exactly the variables of ``environment_variables.ALL`` and
  every argument of the configuration entry points;
- searches and snippets in the docs use real keys and run.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

import sentrial
import sentrial_otel
from sentrial_otel import environment_variables, semconv
from sentrial_otel.config import resolve_settings

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def backticked(text: str) -> set[str]:
    return set(re.findall(r"`([^`\n]+)`", text))


# --- the site --------------------------------------------------------------------------------


def test_site_builds_without_warnings(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install 'mkdocs==1.6.1')")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    config["docs_dir"] = str(DOCS)  # as it is: a page the nav names and docs/ lacks fails
    config["site_dir"] = str(tmp_path / "site")
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(tmp_path / "mkdocs.yml")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
    assert (tmp_path / "site" / "attributes" / "index.html").exists()


def test_the_nav_names_exactly_the_pages():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    in_nav = [next(iter(item.values())) for item in config["nav"]]
    assert sorted(in_nav) == sorted(p.name for p in DOCS.glob("*.md"))


# --- attribute reference <-> semconv ------------------------------------------------------


def semconv_strings() -> dict[str, str]:
    return {
        name: value for name, value in vars(semconv).items()
        if name.isupper() and isinstance(value, str)
    }


def attribute_constants() -> tuple[set[str], set[str]]:
    """(exact attribute keys, key prefixes) that semconv defines."""
    keys, prefixes = set(), set()
    for name, value in semconv_strings().items():
        if name.startswith((
            "ERROR_TYPE_", "OP_", "METRIC_", "ROLE_", "FINISH_REASON_", "TOKEN_MODALITY_",
            "USAGE_", "SEMCONV_OPT_IN_", "TOOL_TYPE_", "OI_KIND_", "OI_MIME_",
        )) or name in (
            "DECISION_SPAN_NAME", "SPAN_KIND_DECISION", "TOOL_TYPE_FUNCTION",
            "MCP_TOOLS_CALL",
        ) or name.endswith("_EVENT"):  # event and log record names, not keys
            continue
        if name.endswith("_PREFIX"):
            prefixes.add(value)
        else:
            keys.add(value)
    return keys, prefixes


def documented_attributes() -> dict[str, bool]:
    """Key (or prefix ending in '.') -> content-gated, from the tables headed `| key |`."""
    found: dict[str, bool] = {}
    in_table = False
    for line in read("attributes.md").splitlines():
        if line.startswith("| key |"):
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        if not in_table or line.startswith("|---"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[-1] in ("yes", "no"), line
        for token in re.findall(r"`([^`]+)`", cells[0]):
            key = token.split("<")[0] if "<" in token else token
            key = key[:-1] if key.endswith(".*") else key
            if token.endswith(".*") or "<" in token:
                key = key if key.endswith(".") else key + "."
            found[key] = cells[-1] == "yes"
    return found


def test_attribute_reference_names_exactly_the_semconv_keys():
    keys, prefixes = attribute_constants()
    documented = documented_attributes()
    documented_prefixes = {k for k in documented if k.endswith(".")}
    # Keys under a prefix (sentrial.state.before) are instances of that prefix, unless
    # semconv names them too (gen_ai.usage.input_tokens under gen_ai.usage.).
    documented_keys = {
        key for key in set(documented) - documented_prefixes
        if key in keys or not any(key.startswith(prefix) for prefix in prefixes)
    }
    assert keys - documented_keys == set(), "keys missing from docs/attributes.md"
    assert documented_keys - keys == set(), "documented keys that semconv does not define"
    assert documented_prefixes == prefixes


def test_attribute_reference_marks_exactly_the_content_keys():
    documented = documented_attributes()
    prefixes = attribute_constants()[1]
    marked = {
        key for key, content in documented.items()
        if content and not key.endswith(".") and not any(key.startswith(p) for p in prefixes)
    }
    assert marked == set(semconv.CONTENT_KEYS | semconv.LOG_CONTENT_KEYS)


def test_attribute_reference_names_every_value_and_metric():
    text = backticked(read("attributes.md"))
    missing = {
        name: value for name, value in semconv_strings().items()
        if not (value in text or name.endswith("_PREFIX") and any(t.startswith(value) for t in text))
    }
    assert missing == {}


def test_searches_use_real_attribute_keys():
    keys, prefixes = attribute_constants()
    text = read("jaeger-tempo.md")
    used = set(re.findall(r"\bspan\.([a-z_][\w.]*[a-z_])", text))
    tags = set(re.findall(r"`([a-z_][\w.]+)=", text)) | set(re.findall(r" ([a-z_][\w.]+)=", text))
    used |= {tag for tag in tags if "." in tag}  # attribute keys, not Python arguments
    used -= {"error"}  # Jaeger's own tag for an ERROR status
    assert used, "no searches found"
    assert used - keys == set()


# --- configuration <-> environment_variables ----------------------------------------------


def test_configuration_names_exactly_the_environment_variables():
    named = {t for t in re.findall(r"\b((?:SENTRIAL|OTEL)_[A-Z_]*[A-Z])\b", read("configuration.md"))}
    assert named == set(environment_variables.ALL)


def test_no_page_names_an_unknown_variable():
    known = set(environment_variables.ALL)
    for page in DOCS.glob("*.md"):
        named = set(re.findall(r"\b((?:SENTRIAL|OTEL)_[A-Z_]*[A-Z])\b", page.read_text()))
        assert named <= known, (page.name, named - known)


def test_configuration_names_every_argument():
    text = backticked(read("configuration.md"))
    entry_points = [resolve_settings, sentrial.SentrialClient.__init__, sentrial.configure,
                    sentrial_otel.configure]
    for function in entry_points:
        for parameter in inspect.signature(function).parameters.values():
            if parameter.name == "self" or parameter.kind is parameter.VAR_KEYWORD:
                continue
            assert parameter.name in text, (function.__qualname__, parameter.name)


# --- snippets run ------------------------------------------------------------------------


def python_blocks() -> list[tuple[str, str]]:
    blocks = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for code in re.findall(r"```python\n(.*?)```", page.read_text(), re.S):
            if code.startswith("import"):
                blocks.append((page.name, code))
    return blocks


@pytest.mark.parametrize("page,code", python_blocks(), ids=lambda v: v if v.endswith(".md") else "")
def test_complete_python_snippets_run(tmp_path, page, code):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    env.update(PYTHONPATH=str(ROOT / "src"), SENTRIAL_HOME=str(tmp_path / "store"))
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"{page}:\n{code}\n{result.stderr}"
    assert "sentrial:" not in result.stderr, result.stderr  # no warning from us either
