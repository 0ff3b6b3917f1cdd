"""Decoders: walked tables -> samples in the core schema, one module per table layout."""
