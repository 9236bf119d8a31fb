"""What a user installs is what the examples need: every example's imports come with the
core install or the extras docs/examples.md tells them to install; and what
``opentelemetry-instrument`` finds: each instrumentor under its entry point."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import importlib.util
import re
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OWN = {"sentrial", "sentrial_otel"}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements: list[str]) -> set[str]:
    return {normalized(re.match(r"[A-Za-z0-9_.-]+", r).group(0)) for r in requirements}


def with_dependencies(names: set[str]) -> set[str]:
    """``names`` and everything they require in turn (``langgraph`` brings
    ``langgraph-checkpoint``, which holds ``langgraph.checkpoint``)."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        todo.extend(requirement_names([r for r in requires if "extra ==" not in r]))
    return found


def imported_modules(path: Path) -> set[str]:
    """Every absolute module an example imports, at any depth of the file."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if _is_namespace(node.module):  # `from opentelemetry import trace`
                modules.update(f"{node.module}.{alias.name}" for alias in node.names)
            else:
                modules.add(node.module)
    return {m for m in modules if m.split(".")[0] not in OWN | set(sys.stdlib_module_names)
            and m != "__future__"}


def _is_namespace(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.origin is None


@cache
def _packages_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def distribution_of(module: str) -> str:
    """The installed distribution whose files hold ``module`` (namespace packages such as
    ``opentelemetry`` span many, so the module's own file is looked up)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, module
    origin = Path(spec.origin).resolve()
    for name in _packages_distributions().get(module.split(".")[0], []):
        dist = importlib.metadata.distribution(name)
        try:
            relative = origin.relative_to(Path(str(dist.locate_file(""))).resolve()).as_posix()
        except ValueError:
            continue
        if any(str(file) == relative for file in dist.files or ()):
            return normalized(name)
    raise AssertionError(f"no installed distribution holds {module} ({origin})")


def test_every_example_imports_only_what_the_documented_install_brings():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = set(re.findall(r"pip install 'sentrial-otel\[([a-z,]+)\]'",
                            (ROOT / "docs" / "examples.md").read_text()))
    named = {extra for group in extras for extra in group.split(",")}
    assert named, "docs/examples.md names no extra to install"
    installed = requirement_names(project["dependencies"])
    for extra in named:
        installed |= requirement_names(project["optional-dependencies"][extra])
    installed = with_dependencies(installed)
    for example in sorted((ROOT / "examples").glob("*.py")):
        for module in imported_modules(example):
            assert distribution_of(module) in installed, (
                f"{example.name} imports {module} ({distribution_of(module)}), which "
                f"`pip install 'sentrial-otel[{','.join(sorted(named))}]'` does not install")


@pytest.mark.parametrize(("name", "target"), [
    ("langchain", "sentrial_otel.instrumentation.langchain:LangChainInstrumentor"),
    ("mcp", "sentrial_otel.instrumentation.mcp:MCPInstrumentor"),
])
def test_each_instrumentor_loads_from_its_entry_point(name: str, target: str) -> None:
    found = [ep for ep in importlib.metadata.entry_points(group="opentelemetry_instrumentor")
             if ep.name == name]
    if not found:  # running from a source tree without `pip install -e .`
        pytest.skip("sentrial-otel is not installed; the entry point is not registered")
    assert found[0].value == target
    module, _, attribute = target.partition(":")
    assert found[0].load() is getattr(importlib.import_module(module), attribute)
