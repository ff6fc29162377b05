"""Katib, the Kubeflow HPO service, beside Kubeflow Pipelines (installed as ``omgml.components.katib``).

- release: facts of the Katib v0.19.0 release (images, algorithms, names) and the sizing;
- crds: its CustomResourceDefinitions (Experiment, Suggestion, Trial; pure);
- config: the katib-config file, the webhooks and the sample Experiment (pure);
- rbac: least-privilege ClusterRoles and Roles (pure);
- component: the `Katib` ComponentResource.
"""

from omgml.components.katib.component import TYPE_TOKEN, Katib, KatibArgs

__all__ = ["TYPE_TOKEN", "Katib", "KatibArgs"]
