"""Errors a user can cause and fix; the CLI prints their message without a traceback."""


class GdaClvError(Exception):
    """Base class: the message says what is wrong and what to do."""


class ConfigError(GdaClvError):
    """A configuration key, value or file is wrong."""


class DataError(GdaClvError):
    """The input data cannot be used as it is (missing column, empty source, too many bad rows)."""


class ModelError(GdaClvError):
    """A model could not be fitted, found or loaded."""

