"""The CustomResourceDefinitions Kubeflow Pipelines needs, as minimal structural schemas.

Like upstream (argo-workflows manifests/base/crds/minimal, KFP base/pipeline/cluster-scoped),
spec and status are `x-kubernetes-preserve-unknown-fields` objects: the full Argo schemas
exceed the annotation size limit of client-side apply (kubernetes/kubernetes#82292), and
validation is the controllers' job. Names, kinds, short names, scope, versions and status
subresources match the upstream CRDs of Argo v4.0.5 and KFP 2.17.0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omgml.k8s import JsonDict

_STRING: JsonDict = {"type": "string"}
_OPEN_OBJECT: JsonDict = {
    "type": "object",
    "x-kubernetes-map-type": "atomic",
    "x-kubernetes-preserve-unknown-fields": True,
}


@dataclass(frozen=True)
class CrdFacts:
    group: str
    kind: str
    plural: str
    short_names: tuple[str, ...] = ()
    version: str = "v1alpha1"
    scope: str = "Namespaced"
    status_subresource: bool = False
    # Top-level fields besides apiVersion/kind/metadata: name → schema.
    fields: dict[str, JsonDict] = field(default_factory=dict)
    required: tuple[str, ...] = ("metadata", "spec")
    printer_columns: tuple[JsonDict, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.plural}.{self.group}"

    @property
    def singular(self) -> str:
        return self.kind.lower()


_SPEC_STATUS = {"spec": _OPEN_OBJECT, "status": _OPEN_OBJECT}
_SPEC_ONLY = {"spec": _OPEN_OBJECT}

ARGO_CRDS: tuple[CrdFacts, ...] = (
    CrdFacts("argoproj.io", "ClusterWorkflowTemplate", "clusterworkflowtemplates", ("clusterwftmpl", "cwft"),
             scope="Cluster", fields=_SPEC_ONLY),
    CrdFacts("argoproj.io", "CronWorkflow", "cronworkflows", ("cwf", "cronwf"), fields=_SPEC_STATUS),
    CrdFacts("argoproj.io", "Workflow", "workflows", ("wf",), fields=_SPEC_STATUS, printer_columns=(
        {"name": "Status", "type": "string", "jsonPath": ".status.phase", "description": "Status of the workflow"},
        {"name": "Age", "type": "date", "format": "date-time", "jsonPath": ".status.startedAt",
         "description": "When the workflow was started"},
        {"name": "Message", "type": "string", "jsonPath": ".status.message",
         "description": "Why the workflow is in this condition"},
    )),
    CrdFacts("argoproj.io", "WorkflowArtifactGCTask", "workflowartifactgctasks", ("wfat",),
             status_subresource=True, fields=_SPEC_STATUS),
    CrdFacts("argoproj.io", "WorkflowEventBinding", "workfloweventbindings", ("wfeb",), fields=_SPEC_ONLY),
    # Results are top-level fields, not spec/status (written by argoexec in every step pod).
    CrdFacts("argoproj.io", "WorkflowTaskResult", "workflowtaskresults", (), required=("metadata",), fields={
        "message": _STRING, "phase": _STRING, "progress": _STRING,
        "outputs": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    }),
    CrdFacts("argoproj.io", "WorkflowTaskSet", "workflowtasksets", ("wfts",), status_subresource=True,
             fields=_SPEC_STATUS),
    CrdFacts("argoproj.io", "WorkflowTemplate", "workflowtemplates", ("wftmpl",), fields=_SPEC_ONLY),
)

KFP_CRDS: tuple[CrdFacts, ...] = (
    CrdFacts("kubeflow.org", "ScheduledWorkflow", "scheduledworkflows", ("swf",), version="v1beta1",
             fields=_SPEC_STATUS, required=("spec", "status")),
)

ALL_CRDS: tuple[CrdFacts, ...] = ARGO_CRDS + KFP_CRDS


def crd_spec(c: CrdFacts) -> JsonDict:
    schema: JsonDict = {
        "type": "object",
        "required": list(c.required),
        "properties": {"apiVersion": _STRING, "kind": _STRING, "metadata": {"type": "object"},
                       **{k: dict(v) for k, v in c.fields.items()}},
    }
    version: JsonDict = {
        "name": c.version,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": schema},
    }
    if c.status_subresource:
        version["subresources"] = {"status": {}}
    if c.printer_columns:
        version["additionalPrinterColumns"] = [dict(col) for col in c.printer_columns]
    names: JsonDict = {"kind": c.kind, "listKind": f"{c.kind}List", "plural": c.plural, "singular": c.singular}
    if c.short_names:
        names["shortNames"] = list(c.short_names)
    return {"group": c.group, "names": names, "scope": c.scope, "versions": [version]}
