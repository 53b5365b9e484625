"""The trajectory viewer: one self-contained HTML page per agent."""
