"""Renderers: stored data → files and terminal text. One file per format."""
