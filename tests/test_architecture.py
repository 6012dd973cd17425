"""The layout the README's Architecture section describes, checked against the code.

Imports are read with ``ast`` from every module of ``transforms`` and
``flows``, those inside functions included.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from tests.paths import REPO
from transforms.config import PipelineConfig
from transforms.pipeline import BEFORE_DEDUP, FROM_DEDUP, STAGE_NAMES, STAGES

PACKAGES = ("transforms", "flows")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every module name an ``import`` anywhere in the file names (``from a import b``: a, a.b)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _project_module(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


GRAPH = {
    module: {m for m in map(_project_module, _imports(path)) if m and m != module}
    for module, path in MODULES.items()
}


def _cycle_through(start: str) -> list[str] | None:
    stack = [(start, [start])]
    seen = set()
    while stack:
        module, trail = stack.pop()
        for target in GRAPH[module]:
            if target == start:
                return [*trail, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*trail, target]))
    return None


def test_no_import_cycle_even_through_imports_inside_functions():
    cycles = [cycle for m in sorted(GRAPH) if (cycle := _cycle_through(m))]
    assert not cycles, " -> ".join(cycles[0])


def test_transforms_never_imports_prefect_or_flows():
    for module, path in MODULES.items():
        if module.startswith("transforms"):
            bad = {n for n in _imports(path) if n.split(".")[0] in ("prefect", "flows")}
            assert not bad, f"{module} imports {sorted(bad)}"


def test_the_stages_and_the_engine_do_not_import_the_release_product():
    for module in GRAPH:
        if module.startswith(("transforms.stages", "transforms.engine", "transforms.dedup")):
            assert not {m for m in GRAPH[module] if m.startswith("transforms.release")}, module


def test_each_stage_is_the_module_and_the_config_section_of_its_name():
    for stage in STAGES:
        assert stage.run.__module__ == f"transforms.stages.{stage.name}", stage.name
        assert stage.name in PipelineConfig.model_fields, stage.name
    assert STAGES[0].role == "source" and STAGES[-1].role == "sink"
    assert [s.name for s in (*BEFORE_DEDUP, *FROM_DEDUP)] == list(STAGE_NAMES)


def test_every_stage_module_has_its_tests():
    for name in STAGE_NAMES:
        flat = REPO / "tests" / "transforms" / "stages" / f"test_{name}.py"
        package = REPO / "tests" / "transforms" / "stages" / name
        assert flat.exists() or package.is_dir(), name


def _readme_section(title: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_the_readme_lists_the_stages_in_pipeline_order():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\d+\. \*\*([a-z_]+)\*\*", text, flags=re.MULTILINE)
    assert listed == list(STAGE_NAMES)


def test_the_readme_tree_names_every_package():
    section = _readme_section("Architecture")
    for module, path in MODULES.items():
        if path.name == "__init__.py":
            assert f"{module.split('.')[-1]}/" in section, module


@pytest.mark.parametrize("package", PACKAGES)
def test_functions_fit_on_a_screen(package):
    long = []
    for module, path in MODULES.items():
        if not module.startswith(package):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > 60:
                    long.append(f"{module}.{node.name}: {length} lines")
    assert not long, long


def _resolves(reference: str) -> bool:
    parts = reference.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        if module not in MODULES:
            continue
        found = importlib.import_module(module)
        for attribute in parts[cut:]:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


def test_docstrings_and_comments_name_modules_and_functions_that_exist():
    dangling = []
    for module, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        for reference in re.findall(r"``((?:transforms|flows)\.[A-Za-z0-9_.]+)``", text):
            if not _resolves(reference):
                dangling.append(f"{module}: {reference}")
    assert not dangling, dangling
