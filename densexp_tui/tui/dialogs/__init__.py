"""Modal dialogs: confirm, error (with a run's log tail), path prompt."""

from densexp_tui.tui.dialogs.confirm import ConfirmDialog
from densexp_tui.tui.dialogs.error import ErrorDialog
from densexp_tui.tui.dialogs.path_prompt import PathPrompt

__all__ = ["ConfirmDialog", "ErrorDialog", "PathPrompt"]
