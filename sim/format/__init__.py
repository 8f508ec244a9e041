"""The scenario file format: reading YAML or JSON with positions, the pydantic models,
field types, located validation errors, expressions, distributions and provenance."""
