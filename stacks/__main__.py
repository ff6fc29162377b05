"""Pulumi program entry (Pulumi.yaml: `main: stacks/`). All logic lives in omgml.program."""

from omgml.program import main

main()
