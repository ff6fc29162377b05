"""The CustomResourceDefinitions Kubeflow Pipelines needs, as minimal structural schemas.

Like upstream (argo-workflows manifests/base/crds/minimal, KFP base/pipeline/cluster-scoped),
spec and status are `x-kubernetes-preserve-unknown-fields` objects: the full Argo schemas
exceed the annotation size limit of client-side apply (kubernetes/kubernetes#82292), and
validation is the controllers' job. Names, kinds, short names, scope, versions and status
subresources match the upstream CRDs of Argo v4.0.5 and KFP 2.17.0.
"""

from __future__ import annotations

from omgml import k8s as kube

__all__ = ["ALL_CRDS", "ARGO_CRDS", "KFP_CRDS"]

_SPEC_STATUS = {"spec": kube.OPEN_OBJECT, "status": kube.OPEN_OBJECT}
_SPEC_ONLY = {"spec": kube.OPEN_OBJECT}

ARGO_CRDS: tuple[kube.CrdFacts, ...] = (
    kube.CrdFacts("argoproj.io", "ClusterWorkflowTemplate", "clusterworkflowtemplates", ("clusterwftmpl", "cwft"),
             scope="Cluster", fields=_SPEC_ONLY),
    kube.CrdFacts("argoproj.io", "CronWorkflow", "cronworkflows", ("cwf", "cronwf"), fields=_SPEC_STATUS),
    kube.CrdFacts("argoproj.io", "Workflow", "workflows", ("wf",), fields=_SPEC_STATUS, printer_columns=(
        {"name": "Status", "type": "string", "jsonPath": ".status.phase", "description": "Status of the workflow"},
        {"name": "Age", "type": "date", "format": "date-time", "jsonPath": ".status.startedAt",
         "description": "When the workflow was started"},
        {"name": "Message", "type": "string", "jsonPath": ".status.message",
         "description": "Why the workflow is in this condition"},
    )),
    kube.CrdFacts("argoproj.io", "WorkflowArtifactGCTask", "workflowartifactgctasks", ("wfat",),
             status_subresource=True, fields=_SPEC_STATUS),
    kube.CrdFacts("argoproj.io", "WorkflowEventBinding", "workfloweventbindings", ("wfeb",), fields=_SPEC_ONLY),
    # Results are top-level fields, not spec/status (written by argoexec in every step pod).
    kube.CrdFacts("argoproj.io", "WorkflowTaskResult", "workflowtaskresults", (), required=("metadata",), fields={
        "message": kube.STRING_SCHEMA, "phase": kube.STRING_SCHEMA, "progress": kube.STRING_SCHEMA,
        "outputs": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    }),
    kube.CrdFacts("argoproj.io", "WorkflowTaskSet", "workflowtasksets", ("wfts",), status_subresource=True,
             fields=_SPEC_STATUS),
    kube.CrdFacts("argoproj.io", "WorkflowTemplate", "workflowtemplates", ("wftmpl",), fields=_SPEC_ONLY),
)

KFP_CRDS: tuple[kube.CrdFacts, ...] = (
    kube.CrdFacts("kubeflow.org", "ScheduledWorkflow", "scheduledworkflows", ("swf",), version="v1beta1",
             fields=_SPEC_STATUS, required=("spec", "status")),
)

ALL_CRDS: tuple[kube.CrdFacts, ...] = ARGO_CRDS + KFP_CRDS
