"""The layering docs/architecture.md describes, checked on the source: imports run one way
(functions → services → ports ← adapters; everything → domain; the domain imports only itself)
and no module imports itself back through others."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "functions", "devserver")

# Which layers each layer may import. The composition root (bootstrap, settings) knows every
# concrete class; the bus contract is part of the ports.
LAYERS = {
    "shared.domain": "domain",
    "shared.errors": "domain",
    "shared.ports": "ports",
    "shared.bus_messages": "ports",
    # What services record (the OpenTelemetry API only), beside the ports they are written on.
    "shared.telemetry": "ports",
    "shared.services": "services",
    "shared.adapters": "adapters",
    "shared.channels": "adapters",
    "shared.bootstrap": "root",
    "shared.settings": "root",
    "shared.telemetry_setup": "root",
    "functions": "functions",
    "function_app": "functions",
    "devserver": "devserver",
}
MAY_IMPORT = {
    "domain": {"domain"},
    "ports": {"domain", "ports"},
    "services": {"domain", "ports", "services"},
    "adapters": {"domain", "ports", "adapters", "root"},
    "root": {"domain", "ports", "services", "adapters", "root"},
    "functions": {"domain", "ports", "services", "adapters", "root", "functions"},
    "devserver": {"domain", "ports", "services", "adapters", "root", "functions", "devserver"},
}


def modules() -> dict[str, Path]:
    found = {"function_app": ROOT / "function_app.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "__init__.py" and not path.read_text().strip():
                continue  # an empty package marker imports nothing
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                yield submodule if submodule in known else node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def layer(module: str) -> str | None:
    for prefix, name in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return name
    return None


def graph() -> dict[str, set[str]]:
    known = modules()
    return {
        name: {target for target in imports(path, known) if target in known and target != name}
        for name, path in known.items()
    }


def test_every_module_belongs_to_a_layer() -> None:
    assert [name for name in modules() if layer(name) is None] == []


def test_imports_never_run_back_up() -> None:
    upward = [
        f"{source} -> {target}"
        for source, targets in graph().items()
        for target in targets
        if layer(target) not in MAY_IMPORT[layer(source) or ""]
    ]
    assert upward == []


def test_no_module_imports_itself_back() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize("module", ["shared.domain.routing", "shared.services.routing"])
def test_the_check_sees_real_imports(module: str) -> None:
    """Guards the check itself: modules known to import others are seen doing so."""
    assert graph()[module]


def test_only_the_start_up_module_touches_the_telemetry_sdk() -> None:
    """Services and adapters record through the OpenTelemetry API (shared/telemetry.py); the
    SDK and the exporters are set up once, at start-up, in shared/telemetry_setup.py."""
    sdk = ("opentelemetry.sdk", "opentelemetry.exporter", "azure.monitor")
    importers = sorted(
        name
        for name, path in modules().items()
        for target in imports(path, {})
        if target.startswith(sdk)
    )
    assert importers == ["shared.telemetry_setup"] * len(importers) and importers
