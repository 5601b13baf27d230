"""Dependency manifests: one parser per kind (interface.py, registry.py)."""
