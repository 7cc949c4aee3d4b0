"""Errors the user can fix: the command line prints them as one line instead of a traceback."""


class UserError(Exception):
    """Base class for problems with the user's input (files, arguments, run folders)."""


class DataError(UserError):
    """A data file or folder is missing, corrupt or not what was expected."""


class ConfigError(UserError):
    """Arguments are impossible or contradict an existing run."""


class DivergenceError(UserError):
    """Training produced a NaN or infinite loss."""


class StorageError(UserError):
    """A file could not be written: the disk is full, read-only, or the folder is not writable."""


class RunFolderBusy(ConfigError):
    """Another trainer holds the run folder's lock."""
