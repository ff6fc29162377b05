"""Katib's CustomResourceDefinitions, as upstream ships them at v0.19.0.

manifests/v1beta1/components/crd/{experiment,suggestion,trial}.yaml are already minimal: one
served and stored version v1beta1, a status subresource, printer columns, and a schema that is
an object preserving unknown fields (the controller's webhooks validate experiments). These
builders reproduce them field for field.
"""

from __future__ import annotations

from dataclasses import dataclass

from omgml import k8s as kube

GROUP = "kubeflow.org"
VERSION = "v1beta1"
CATEGORIES = ("all", "kubeflow", "katib")


def _column(name: str, path: str, kind: str = "string") -> kube.JsonDict:
    return {"name": name, "type": kind, "jsonPath": path}


_CONDITION = (_column("Type", ".status.conditions[-1:].type"), _column("Status", ".status.conditions[-1:].status"))
_AGE = _column("Age", ".metadata.creationTimestamp", "date")


@dataclass(frozen=True)
class KatibCrd:
    kind: str
    plural: str
    columns: tuple[kube.JsonDict, ...]

    @property
    def name(self) -> str:
        return f"{self.plural}.{GROUP}"


CRDS: tuple[KatibCrd, ...] = (
    KatibCrd("Experiment", "experiments", (*_CONDITION, _AGE)),
    KatibCrd("Suggestion", "suggestions", (*_CONDITION, _column("Requested", ".spec.requests"),
                                           _column("Assigned", ".status.suggestionCount"), _AGE)),
    KatibCrd("Trial", "trials", (*_CONDITION, _AGE)),
)


def crd_spec(c: KatibCrd) -> kube.JsonDict:
    return {
        "group": GROUP,
        "scope": "Namespaced",
        "versions": [{
            "name": VERSION,
            "served": True,
            "storage": True,
            "additionalPrinterColumns": [dict(col) for col in c.columns],
            "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
        }],
        "names": {"kind": c.kind, "singular": c.kind.lower(), "plural": c.plural, "categories": list(CATEGORIES)},
    }
