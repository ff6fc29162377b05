"""Requirement presets shipped with omgml (one documented YAML file each)."""
