"""Settings ConfigMaps in the namespaces where the team's code runs (governance, W&B)."""

from __future__ import annotations

import pytest

from omgml.components.settings import require_namespaces


def test_settings_namespaces_must_be_given_and_valid() -> None:
    require_namespaces("X.namespaces", ("ml-pipelines", "training"), "where pipeline steps run")
    with pytest.raises(ValueError, match=r"^X\.namespaces: empty; give the namespaces where pipeline steps run$"):
        require_namespaces("X.namespaces", (), "where pipeline steps run")
    with pytest.raises(ValueError, match=r"X\.namespaces\[1\]"):
        require_namespaces("X.namespaces", ("training", "Not_A_Label"), "where training code runs")
