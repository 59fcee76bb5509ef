"""One exception hierarchy, so the GUI's error dialog and the CLI's exit codes are uniform."""

from __future__ import annotations


class DiffViewsError(Exception):
    """Base of every error the user should see as a message, not a traceback."""

    exit_code = 1


class AdapterNotFoundError(DiffViewsError, KeyError, ValueError):
    """An adapter name that no built-in module or entry point registers (a ValueError too, as in the original)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CheckpointError(DiffViewsError):
    """A checkpoint file that cannot be loaded safely; names the file and the reason."""

    exit_code = 3

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # travels from a worker process (diffviews_core.process_jobs) as itself
        return type(self), (self.path, self.reason)


class DataError(DiffViewsError):
    """A data file that is missing, malformed or inconsistent; names the file and the problem."""

    exit_code = 4

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # travels from a worker process (diffviews_core.process_jobs) as itself
        return type(self), (self.path, self.reason)


class CancelledError(DiffViewsError):
    """A long job stopped because the user asked it to."""

    exit_code = 130


class DiskFullError(DataError):
    """A write that found no space left; the file it was writing is named, existing files are left as they were."""

    def __init__(self, path: object, detail: str | None = None) -> None:
        self.detail = detail
        super().__init__(path, f"disk full ({detail})" if detail else "disk full: nothing was changed")

    def __reduce__(self):  # from a worker process as itself, its reason not wrapped twice
        return type(self), (self.path, self.detail)


class WorkerCrashedError(DiffViewsError):
    """A worker process running a job ended without an answer (killed, out of memory, a crash in native code)."""


def brief(exc: BaseException, limit: int = 160) -> str:
    """An exception as one short line (a library's multi-line message folded), for messages that name the file."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
