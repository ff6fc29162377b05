"""Data files shipped with omgml (price tables)."""
