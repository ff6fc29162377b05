"""The one child-options helper and the one data-retention rule.

Every resource a component creates is its child: `Children(self, profile)` gives its options.

`depends_on` convention: a child names only the siblings it really needs (its ServiceAccount,
ConfigMap, Service, a Job's server, …). The component's own `opts.depends_on` (e.g. "after
the namespaces") is NOT copied to its children, because they already wait for it twice over:
- creation: the Python SDK registers a resource only after its parent's URN is known
  (pulumi/runtime/resource.py `prepare_resource` awaits `opts.parent.urn`), and a component's
  URN is known only after its own registration, which first awaits the URNs of everything in
  its depends_on (`_resolve_depends_on_urns`), i.e. after those resources exist;
- deletion: the engine counts a resource's parent as one of its dependencies
  (pkg/resource/graph/dependency_graph.go `DependenciesOf`), so children go before their
  component and the component before what it depends on.
tests/components/test_options.py checks the creation order under the synth engine.

Data retention: `keeps_data(profile)`. Only the laptop profile is throwaway; any other profile may
hold data someone needs, so volumes, databases, buckets and keys are protected (a `pulumi up`
that would replace or delete them fails) and retained on delete (`destroy` leaves them).
"""

from __future__ import annotations

from typing import Any

import pulumi

from omgml.spec.common import Profile


def keeps_data(profile: Profile) -> bool:
    """Whether stateful resources must survive a careless `pulumi destroy` or replacement."""
    return profile != "laptop"


class Children:
    """Options for the children of `parent`; `profile` decides what `data()` keeps."""

    def __init__(self, parent: pulumi.Resource, profile: Profile = "laptop",
                 providers: list[pulumi.ProviderResource] | None = None) -> None:
        self.parent = parent
        self.profile = profile
        self.providers = providers

    def __call__(self, *after: pulumi.Resource, **options: Any) -> pulumi.ResourceOptions:
        """A child that is created after the siblings `after`; `options` are further
        ResourceOptions fields (ignore_changes, …)."""
        if self.providers is not None:
            options.setdefault("providers", self.providers)
        return pulumi.ResourceOptions(parent=self.parent, depends_on=list(after) or None, **options)

    def data(self, *after: pulumi.Resource, **options: Any) -> pulumi.ResourceOptions:
        """A child that holds data (a volume, a database, a key): protected and retained unless
        the profile is laptop."""
        keep = keeps_data(self.profile)
        return self(*after, protect=keep, retain_on_delete=keep, **options)
