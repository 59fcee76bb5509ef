"""Dock widgets: each reads and writes the explorer state, never another dock."""
