"""SFT data formats and transformations."""
