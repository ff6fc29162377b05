"""Configuration of the Katib install (pure): katib-config, the admission webhooks, the sample
Experiment `omgml init` writes.

katib-config (apiVersion config.kubeflow.org/v1beta1, kind KatibConfig) follows the v0.19.0
standalone overlay: the cert generator on (the controller issues its own webhook certificate and
patches the CA bundle into the webhook configurations, so no cert-manager is needed), Jobs as
trials, and per algorithm the suggestion container. omgml adds to each suggestion and metrics
collector what upstream leaves out: requests and limits, and a restricted container security
context (runAsNonRoot, no privilege escalation, all capabilities dropped, RuntimeDefault
seccomp), and turns on injectSecurityContext so the collector sidecar copies the trial
container's context. Suggestion and trial pods then pass Pod Security "restricted".
"""

from __future__ import annotations

import yaml

from omgml import k8s as kube
from omgml.components.katib.release import (
    ALGORITHMS,
    CONTROLLER,
    EARLY_STOPPING_IMAGE,
    HEALTHZ_PORT,
    METRICS_COLLECTORS,
    METRICS_PORT,
    SUGGESTION_UID,
    TRIAL_RESOURCES,
    WEBHOOK_PORT,
    WEBHOOK_SECRET,
    KatibSizing,
)


def _suggestion_context() -> kube.JsonDict:
    return {**kube.restricted_container_security_context(read_only_root=False), "runAsUser": SUGGESTION_UID}


def katib_config(sizing: KatibSizing) -> kube.JsonDict:
    return {
        "apiVersion": "config.kubeflow.org/v1beta1",
        "kind": "KatibConfig",
        "init": {
            "certGenerator": {"enable": True, "webhookServiceName": CONTROLLER, "webhookSecretName": WEBHOOK_SECRET},
            "controller": {
                "webhookPort": WEBHOOK_PORT,
                "metricsAddr": f":{METRICS_PORT}",
                "healthzAddr": f":{HEALTHZ_PORT}",
                "injectSecurityContext": True,
                "enableGRPCProbeInSuggestion": True,
                "trialResources": list(TRIAL_RESOURCES),
            },
        },
        "runtime": {
            "metricsCollectors": [
                {"kind": kind, "image": image, "resources": sizing.collector.resources()}
                for kind, image in METRICS_COLLECTORS.items()
            ],
            "suggestions": [
                {"algorithmName": a.name, "image": a.image, "resources": sizing.suggestion.resources(),
                 "securityContext": _suggestion_context()}
                for a in ALGORITHMS
            ],
            "earlyStoppings": [{"algorithmName": "medianstop", "image": EARLY_STOPPING_IMAGE,
                                "resources": sizing.collector.resources(),
                                "securityContext": _suggestion_context()}],
        },
    }


def katib_config_yaml(sizing: KatibSizing) -> str:
    return yaml.safe_dump(katib_config(sizing), sort_keys=False)


def _client(namespace: str, path: str) -> kube.JsonDict:
    return {"service": {"name": CONTROLLER, "namespace": namespace, "path": path, "port": 443}}


def validating_webhooks(namespace: str) -> list[kube.JsonDict]:
    return [{
        "name": "validator.experiment.katib.kubeflow.org",
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        "clientConfig": _client(namespace, "/validate-experiment"),
        "rules": [{"apiGroups": ["kubeflow.org"], "apiVersions": ["v1beta1"], "operations": ["CREATE", "UPDATE"],
                   "resources": ["experiments"]}],
    }]


def mutating_webhooks(namespace: str) -> list[kube.JsonDict]:
    from omgml.components.katib.release import INJECTION_LABEL

    return [
        {
            "name": "defaulter.experiment.katib.kubeflow.org",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "clientConfig": _client(namespace, "/mutate-experiment"),
            "rules": [{"apiGroups": ["kubeflow.org"], "apiVersions": ["v1beta1"],
                       "operations": ["CREATE", "UPDATE"], "resources": ["experiments"]}],
        },
        {
            "name": "mutator.pod.katib.kubeflow.org",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "clientConfig": _client(namespace, "/mutate-pod"),
            # Only namespaces that opt in (the steps namespace): trial pods get the collector sidecar.
            "namespaceSelector": {"matchLabels": {INJECTION_LABEL: "enabled"}},
            # The steps namespace also runs pipeline steps: while the controller is down they must
            # still start (upstream fails closed). A trial pod created then has no collector, so its
            # trial fails visibly instead of every pipeline step in the namespace.
            "failurePolicy": "Ignore",
            "matchConditions": [{
                "name": "exclude-katib-controller",
                "expression": f'request.userInfo.username != "system:serviceaccount:{namespace}:{CONTROLLER}"',
            }],
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}],
        },
    ]
