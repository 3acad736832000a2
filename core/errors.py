"""One base error for the project; every module raises a subclass with a message a user can act on."""


class FaceCaptureError(Exception):
    """Base class of every error this project raises on purpose."""


class AssetError(FaceCaptureError):
    """A bundled asset (head model, network weights) is missing, corrupt or of the wrong version."""


class FootageError(FaceCaptureError):
    """Footage cannot be opened or decoded."""


class ModelError(FaceCaptureError):
    """The network file cannot be loaded or does not match what the runtime expects."""


class BakeError(FaceCaptureError):
    """The bake cannot produce a result (no face found anywhere, nothing tracked, ...)."""


class ExportError(FaceCaptureError):
    """An output file cannot be written."""
