"""ordebug: teach language models to debug infeasible optimization models."""

__version__ = "0.1.0"
