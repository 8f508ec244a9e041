"""Engines: run branches of a compiled model and return their rows."""
