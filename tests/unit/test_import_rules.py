"""The screens contract flags only the imports that run when a module is imported."""

from __future__ import annotations

import pytest

from tests.import_rules import import_time_lines, module_file

pytestmark = pytest.mark.timeout(30)

SOURCE = """\
from typing import TYPE_CHECKING
import a_module_level
if TYPE_CHECKING:
    import only_for_types
else:
    import at_import_in_else
try:
    import at_import_in_try
except ImportError:
    import at_import_in_except
class Holder:
    import at_import_in_class
def later():
    import inside_function
async def later_async():
    import inside_async_function
"""


def test_import_time_lines_skip_functions_and_type_checking() -> None:
    lines = import_time_lines(SOURCE)
    by_name = {line.split()[-1]: number for number, line in enumerate(SOURCE.splitlines(), 1)
               if "import " in line}
    assert {name for name, number in by_name.items() if number in lines} == {
        "TYPE_CHECKING", "a_module_level", "at_import_in_else", "at_import_in_try",
        "at_import_in_except", "at_import_in_class",
    }


def test_module_file_finds_source_without_importing() -> None:
    assert module_file("densexp_tui.tui.screens.home").name == "home.py"
    assert module_file("densexp_tui.tui.screens").name == "__init__.py"
