"""Error taxonomy A-I: fault injection and verification."""

from ordebug.errors.inject import Injection, inject
from ordebug.errors.taxonomy import ERROR_TYPES

__all__ = ["ERROR_TYPES", "Injection", "inject"]
