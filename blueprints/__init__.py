"""One ComponentResource per phase (installed as ``omgml.blueprints``)."""
