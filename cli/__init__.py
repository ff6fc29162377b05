"""The `omgml` command line (installed as ``omgml.cli``). One module per command group."""
