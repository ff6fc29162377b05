"""Shared contract helpers of omgml.components.contracts."""

from __future__ import annotations

import pytest

from omgml.components.contracts import check_dataset_path, is_s3_dataset


def test_dataset_paths_are_s3_urls_or_prefixes_inside_the_features_bucket() -> None:
    assert is_s3_dataset("s3://team-data/features/")
    assert not is_s3_dataset("features/daily")
    check_dataset_path("x.path", "s3://team-data/features", has_bucket=False)
    check_dataset_path("x.path", "features/daily/", has_bucket=True)
    with pytest.raises(ValueError, match=r"^x\.path: 'features/daily' is relative, but there is no features bucket"):
        check_dataset_path("x.path", "features/daily", has_bucket=False)
    with pytest.raises(ValueError, match=r"^x\.path: 'https://host/x' is neither s3://bucket/prefix"):
        check_dataset_path("x.path", "https://host/x", has_bucket=True)
    with pytest.raises(ValueError, match="neither"):
        check_dataset_path("x.path", "s3://A_bad_bucket/x", has_bucket=True)
