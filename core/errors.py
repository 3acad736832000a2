"""One base error for the project; every module raises a subclass with a message a user can act on.

Each class carries the process exit code the headless CLI returns for it (``exit_code``), so an entry point maps a
failure to a code without a table of its own: 1 unexpected, 2 bad input (settings, footage), 3 model/asset, 4 bake,
5 export, 130 cancelled.
"""

EXIT_OK = 0
EXIT_CANCELLED = 130


class FaceCaptureError(Exception):
    """Base class of every error this project raises on purpose."""
    exit_code = 1


class InputError(FaceCaptureError):
    """A setting (command-line argument, panel value, configuration field) is invalid."""
    exit_code = 2


class FootageError(FaceCaptureError):
    """Footage cannot be opened or decoded."""
    exit_code = 2


class AssetError(FaceCaptureError):
    """A bundled asset (head model, network weights) is missing, corrupt or of the wrong version."""
    exit_code = 3


class ModelError(FaceCaptureError):
    """The network file cannot be loaded or does not match what the runtime expects."""
    exit_code = 3


class BakeError(FaceCaptureError):
    """The bake cannot produce a result (no face found anywhere, nothing tracked, ...)."""
    exit_code = 4


class ExportError(FaceCaptureError):
    """An output file cannot be written."""
    exit_code = 5


class Cancelled(FaceCaptureError):
    """The user cancelled the reconstruction."""
    exit_code = EXIT_CANCELLED


def exit_code(exc: BaseException) -> int:
    """The process exit code for an exception that ended a run (Ctrl-C counts as a cancel; anything that is not
    one of ours is an unexpected error, 1)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_CANCELLED
    return int(getattr(exc, "exit_code", 1)) if isinstance(exc, FaceCaptureError) else 1
