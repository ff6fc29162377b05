"""omgml's CrossGuard policy pack: `pulumi preview --policy-pack policypack`."""

from omgml_policies import (
    AWS_RESOURCE_POLICIES,
    KUBERNETES_RESOURCE_POLICIES,
    STACK_POLICIES,
    aws_validator,
    kubernetes_validator,
)
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy, StackValidationPolicy

from omgml.policy import POLICIES

DESCRIPTIONS = {**POLICIES, "aws-s3-bucket-encryption": POLICIES["aws-data-store-encryption"],
                "aws-karpenter-node-classes": "Karpenter EC2NodeClasses: encrypted volumes and a pinned AMI release"}

PolicyPack(
    name="omgml-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        *(ResourceValidationPolicy(name=pid, description=DESCRIPTIONS[pid], validate=kubernetes_validator(pid))
          for pid in KUBERNETES_RESOURCE_POLICIES),
        *(ResourceValidationPolicy(name=pid, description=DESCRIPTIONS[pid], validate=aws_validator(pid))
          for pid in AWS_RESOURCE_POLICIES),
        *(StackValidationPolicy(name=pid, description=DESCRIPTIONS[pid], validate=validate)
          for pid, validate in STACK_POLICIES.items()),
    ],
)
