"""Catalog data files (YAML) shipped inside the package."""
