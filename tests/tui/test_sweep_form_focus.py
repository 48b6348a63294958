"""Tab and Shift-Tab through the Sweeps screen's New sweep form stop only on what a user can
see take the focus: its fields, the storage field and the tab bar. A new user saw one Tab
"dropped": it had focused the form's scrolling column, which shows nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, Checkbox, Input, Select, Tabs

from densexp_tui.core.runstore import RunStore
from densexp_tui.tui.screens.sweeps import SweepsScreen
from tests.tui.conftest import wait_for
from tests.tui.helpers_dashboard import ScreenTestApp

pytestmark = pytest.mark.timeout(120)
FORM_FIELDS = (Input, Select, Checkbox, Button)


@pytest.mark.parametrize("key", ["tab", "shift+tab"])
async def test_every_tab_stop_of_the_form_is_a_field_or_the_tab_bar(tmp_path: Path,
                                                                   key: str) -> None:
    store = RunStore(tmp_path)
    app = ScreenTestApp(lambda: SweepsScreen(store), store=store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "new-name")
        seen: list[str] = []
        for _ in range(30):  # more than the form's 22 fields, the storage field and the tabs
            await pilot.press(key)
            focused = app.focused
            assert isinstance(focused, (*FORM_FIELDS, Tabs)), \
                f"{key} after {seen[-1:]} focused {focused!r}"
            seen.append(focused.id or type(focused).__name__)
        fields = [widget for widget in app.screen.query("#tab-new *")
                  if isinstance(widget, FORM_FIELDS)]
        assert {widget.id for widget in fields} <= set(seen)  # every field is reached
