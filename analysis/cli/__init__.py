"""The user command line: `python -m analysis validate|estimates|model`."""
