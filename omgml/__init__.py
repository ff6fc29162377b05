"""omgml: requirements-driven ML platforms as Pulumi projects.

Importing this package must stay cheap: the CLI's ``--help`` path imports it, and pulumi
must not be imported there (it costs a second and is not needed to print help).
"""

__version__ = "0.1.0"
