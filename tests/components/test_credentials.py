"""The credentials-checksum annotation: present with a checksum, absent without one."""

from __future__ import annotations

from omgml import k8s as kube
from omgml.components.credentials import CHECKSUM_ANNOTATION, checksum_annotations


def test_checksum_annotation_only_when_omgml_knows_the_secret() -> None:
    assert CHECKSUM_ANNOTATION == "omgml.dev/credentials-checksum"
    with_checksum = kube.pod_template({"app": "x"}, {}, checksum_annotations("abc123"))
    assert with_checksum["metadata"]["annotations"] == {CHECKSUM_ANNOTATION: "abc123"}
    # credentials 'existing': no checksum, so no annotation at all (not an empty one).
    without = kube.pod_template({"app": "x"}, {}, checksum_annotations(None))
    assert "annotations" not in without["metadata"]
