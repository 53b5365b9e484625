"""Error taxonomy A-I: fault injection and verification."""

from ordebug.faults.inject import Injection, inject
from ordebug.faults.taxonomy import ERROR_TYPES

__all__ = ["ERROR_TYPES", "Injection", "inject"]
