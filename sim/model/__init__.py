"""The compiled model: a validated scenario compiled into what an engine runs."""
