"""Versions that move together on the AWS target: Kubernetes, the EKS add-ons and the
controllers omgml installs itself. Pure data and rules, no resources.

- Kubernetes: `DEFAULT_KUBERNETES_VERSION` is the newest minor whose EKS standard support is
  known (EKS_STANDARD_SUPPORT_ENDS, from the EKS version calendar: 1.35 was released on EKS
  on 2026-01-28, so its 14 months of standard support run to 2027-03-27; 1.34 left standard
  support on 2026-12-02). The cluster's upgrade policy is STANDARD, so a version past its end is
  upgraded by EKS instead of billed at the extended-support rate.
- EKS add-ons (vpc-cni, kube-proxy, coredns, aws-ebs-csi-driver, metrics-server, cert-manager):
  their builds are published per Kubernetes minor (`v1.20.4-eksbuild.1`), so omgml cannot know a
  valid version offline. A version pinned in `aws.addon_versions` is used as is; an add-on not
  pinned there is resolved at deploy time to the default version EKS publishes for the cluster's
  Kubernetes version (`aws eks describe-addon-versions --kubernetes-version …`), and the
  foundation exports what it resolved (`eks_addon_versions`) so it can be pinned in the spec.
  `omgml check` warns about every add-on that is not pinned yet.
- Controllers installed as typed resources (Karpenter, the AWS Load Balancer Controller, the
  DCGM exporter, prometheus-adapter): pinned here. Karpenter publishes the Kubernetes minors
  each release supports, so a `kubernetes_version` outside that range is refused before
  anything is built; the others publish no such matrix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

DEFAULT_KUBERNETES_VERSION = "1.35"
# End of EKS standard support per minor (the EKS Kubernetes version calendar).
EKS_STANDARD_SUPPORT_ENDS: dict[str, date] = {
    "1.33": date(2026, 7, 29),
    "1.34": date(2026, 12, 2),
    "1.35": date(2027, 3, 27),
}

# The EKS-optimized AL2023 AMI release (awslabs/amazon-eks-ami tag v20260714: its release notes
# list AL2023_x86_64_NVIDIA images for Kubernetes 1.30 to 1.36). GPU nodes run the NVIDIA variant
# of this release; bump it (aws.node_ami_release) to roll the nodes onto newer AMIs.
DEFAULT_NODE_AMI_RELEASE = "v20260714"

# The EKS add-ons omgml installs, in the order they must come up (networking before nodes,
# the rest once nodes exist). metrics-server and cert-manager are EKS community add-ons.
EKS_ADDONS: tuple[str, ...] = ("vpc-cni", "kube-proxy", "coredns", "aws-ebs-csi-driver", "metrics-server",
                               "cert-manager")
ADDON_VERSION = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")
# Tag on every aws.eks.Addon saying where its version came from (what `omgml check` reads).
VERSION_SOURCE_TAG = "omgml.dev/version-source"


@dataclass(frozen=True)
class ControllerRelease:
    """A controller omgml installs itself: its version, image and supported Kubernetes minors."""

    name: str
    version: str
    image: str
    source: str  # where the facts were read
    # The Kubernetes minors the release supports, where its project publishes them.
    kubernetes_range: tuple[str, str] | None = None


# aws/karpenter-provider-aws v1.14.3 (Go module proxy, 2026-10-23); the 1.14 line supports
# Kubernetes 1.26-1.36 (hack/docs/compatibilitymatrix_gen/compatibility.yaml).
KARPENTER = ControllerRelease("karpenter", "1.14.3", "public.ecr.aws/karpenter/controller:1.14.3",
                              "github.com/aws/karpenter-provider-aws@v1.14.3 (charts/karpenter, pkg/apis/crds)",
                              ("1.26", "1.36"))
# kubernetes-sigs/aws-load-balancer-controller v3.5.0 (tag 2026-08-03; helm chart appVersion).
AWS_LOAD_BALANCER_CONTROLLER = ControllerRelease(
    "aws-load-balancer-controller", "v3.5.0", "public.ecr.aws/eks/aws-load-balancer-controller:v3.5.0",
    "github.com/kubernetes-sigs/aws-load-balancer-controller tag v3.5.0 (helm/, config/crd/bases)")
# NVIDIA/dcgm-exporter 4.5.3-4.8.2 (tag 2026-05-12): DCGM 4.5.3, exporter 4.8.2.
DCGM_EXPORTER = ControllerRelease("dcgm-exporter", "4.5.3-4.8.2",
                                  "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-distroless",
                                  "github.com/NVIDIA/dcgm-exporter tag 4.5.3-4.8.2 (dcgm-exporter.yaml, deployment/)")
# kubernetes-sigs/prometheus-adapter v0.12.0 (its newest tag).
PROMETHEUS_ADAPTER = ControllerRelease("prometheus-adapter", "v0.12.0",
                                       "registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.12.0",
                                       "github.com/kubernetes-sigs/prometheus-adapter tag v0.12.0 (deploy/manifests)")
CONTROLLERS: tuple[ControllerRelease, ...] = (KARPENTER, AWS_LOAD_BALANCER_CONTROLLER, DCGM_EXPORTER,
                                              PROMETHEUS_ADAPTER)


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def kubernetes_version_problems(version: str) -> list[str]:
    """Why `aws.kubernetes_version` cannot run the controllers omgml installs (empty when it can)."""
    out = []
    for c in CONTROLLERS:
        if c.kubernetes_range is None:
            continue
        low, high = c.kubernetes_range
        if not _minor(low) <= _minor(version) <= _minor(high):
            out.append(f"aws.kubernetes_version: {version} is outside what {c.name} {c.version} supports "
                       f"({low}-{high}); use a version in that range")
    return out


def standard_support_ends(version: str) -> date | None:
    """The end of EKS standard support for `version`, when the calendar above knows it."""
    return EKS_STANDARD_SUPPORT_ENDS.get(version)


def addon_version_problems(pins: Mapping[str, str]) -> list[str]:
    """Problems of `aws.addon_versions` (each names its key): unknown add-ons, malformed versions."""
    out = []
    for name, version in sorted(pins.items()):
        if name not in EKS_ADDONS:
            out.append(f"{name!r} is not an add-on omgml installs; use one of {list(EKS_ADDONS)}")
        elif not ADDON_VERSION.match(version):
            out.append(f"{name}: {version!r} is not an EKS add-on version; write it as "
                       "`aws eks describe-addon-versions` prints it, e.g. v1.20.4-eksbuild.1")
    return out
