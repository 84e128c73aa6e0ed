"""Every error a user can cause is a ValueError subclass with a one-line message."""


class PoetgenError(ValueError):
    """Base of poetgen's user-facing errors; the CLI prints the message and exits 1."""


class CorpusError(PoetgenError):
    """An unreadable or malformed dataset or corpus file."""


class ModelError(PoetgenError):
    """A missing, corrupt or inconsistent model directory."""


class GenerationError(PoetgenError):
    """A generation request that cannot be satisfied (bad parameter, unknown character...)."""
