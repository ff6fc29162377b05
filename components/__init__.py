"""One ComponentResource per tool (installed as ``omgml.components``).

Manifest bodies come from pure functions in each module so they are tested without an engine;
the ComponentResources only wire those bodies into Pulumi resources.
"""
