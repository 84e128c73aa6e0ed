"""Every error a user can cause is a ValueError subclass with a one-line message. Errors a page
visitor can meet are raised by a code of `messages.MESSAGES` with their values, and carry both
texts; errors only an operator meets (a corpus, a model directory, training) may be raised with
their English text alone."""

from __future__ import annotations

from .messages import CHINESE, ENGLISH, MESSAGES, render


class PoetgenError(ValueError):
    """Base of poetgen's user-facing errors; the CLI prints the message and exits 1."""

    def __init__(self, code: str, /, **values):
        self.code = code if code in MESSAGES else None
        self.values = values
        super().__init__(render(code, values, ENGLISH) if self.code else code)

    @property
    def chinese(self) -> str:
        """The message for the page: its Chinese text, or (an operator's error) the English one."""
        return render(self.code, self.values, CHINESE) if self.code else str(self)


class CorpusError(PoetgenError):
    """An unreadable or malformed dataset or corpus file."""


class ModelError(PoetgenError):
    """A missing, corrupt or inconsistent model directory."""


class GenerationError(PoetgenError):
    """A generation request that cannot be satisfied (bad parameter, unknown character...)."""
