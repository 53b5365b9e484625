"""Errors raised by the solver layer, each with a message meant for a user."""


class OrDebugError(Exception):
    """Base class of every error that the CLI reports as one clear line."""


class ModelParseError(OrDebugError):
    """A model file or LP text that SCIP cannot read."""


class FeasibleModelError(OrDebugError):
    """An IIS was asked for a model that is feasible."""
