"""An import-linter contract type for "screens do not import each other at module level".

import-linter's own independence contract cannot express this rule: grimp records every
import statement, including those inside functions, and the contract also follows indirect
chains (screen -> app -> other screen). The rule allows a screen to import another inside a
function (to open it on demand) and under ``if TYPE_CHECKING:`` (never executed), so this
contract forbids only the direct imports between the listed modules that run when the
importing module is imported. Configured in pyproject.toml under [tool.importlinter].
"""

from __future__ import annotations

import ast
from importlib.machinery import PathFinder
from pathlib import Path

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck
from importlinter.domain.helpers import module_expressions_to_modules


def module_file(module: str) -> Path:
    """The source file of ``module``, found without importing it (or its packages)."""
    root, *rest = module.split(".")
    spec = PathFinder.find_spec(root)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"cannot find package {root}")
    base = Path(next(iter(spec.submodule_search_locations))).joinpath(*rest)
    package_init = base / "__init__.py"
    return package_init if package_init.is_file() else base.with_suffix(".py")


def _is_type_checking_test(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "TYPE_CHECKING") or (
        isinstance(node, ast.Attribute) and node.attr == "TYPE_CHECKING"
    )


def import_time_lines(source: str) -> set[int]:
    """Line numbers of the import statements that run when the module is imported.

    That is every import outside function bodies and outside ``if TYPE_CHECKING:``;
    imports in class bodies and in plain ``if``/``try`` blocks do run at import.
    """
    lines: set[int] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            elif isinstance(node, ast.If) and _is_type_checking_test(node.test):
                visit(node.orelse)
            else:
                for child_block in ("body", "orelse", "finalbody", "handlers", "cases"):
                    children = getattr(node, child_block, None)
                    if isinstance(children, list):
                        visit([c for c in children if isinstance(c, ast.stmt)])
                        for handler in children:
                            if isinstance(handler, (ast.ExceptHandler, ast.match_case)):
                                visit(handler.body)

    visit(ast.parse(source).body)
    return lines


class ModuleLevelIndependence(Contract):
    """The listed modules do not import each other when they are imported.

    Configuration options:
        - modules: module expressions (wildcards allowed) that must stay independent.
    """

    type_name = "module_level_independence"

    modules = fields.ListField(subfield=fields.ModuleExpressionField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        names = {m.name for m in module_expressions_to_modules(graph, self.modules)}  # type: ignore[arg-type]
        violations: list[str] = []
        for importer in sorted(names):
            imported_siblings = graph.find_modules_directly_imported_by(importer) & names
            if not imported_siblings:
                continue
            runs_at_import = import_time_lines(module_file(importer).read_text())
            for imported in sorted(imported_siblings):
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    if detail["line_number"] in runs_at_import:
                        violations.append(
                            f"{importer}:{detail['line_number']} imports {imported} at module "
                            f"level ({detail['line_contents']}); import it inside the function "
                            "that needs it, or go through the app's navigation"
                        )
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["violations"]:
            output.print_error(violation)
            output.new_line()
