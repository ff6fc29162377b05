"""The AWS target (installed as ``omgml.components.aws``): network, EKS, IRSA and the managed
twins of the in-cluster data stores (RDS, ElastiCache, MSK, S3), built from pulumi_aws primitives.

`platform.AwsFoundation` is the entry point a blueprint calls; every other module is usable on
its own. Pure functions decide (CIDR plans, IAM documents, sizing, kubeconfig); the
ComponentResources only wire them into typed pulumi_aws / pulumi_kubernetes resources, so the
whole target is verified under the recording mock engine without an AWS account.
"""
