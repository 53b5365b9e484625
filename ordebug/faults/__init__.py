"""Error taxonomy A-I: fault injection and verification."""

from ordebug.faults.inject import inject
from ordebug.faults.taxonomy import ERROR_TYPES
from ordebug.faults.verify import Injection

__all__ = ["ERROR_TYPES", "Injection", "inject"]
