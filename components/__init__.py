"""One ComponentResource per tool (installed as ``omgml.components``).

Manifest bodies come from pure functions in each module so they are tested without an engine;
the ComponentResources only wire those bodies into Pulumi resources. A tool's component is
written one way (``base.Component``): the class line names its type token and its pure
``resolve``, ``build`` creates the children and returns the outputs. Settings bundles without
a sizing profile (W&B, governance, data connections, …) and the AWS components are still
plain ComponentResources.
"""
