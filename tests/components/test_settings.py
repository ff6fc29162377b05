"""Settings ConfigMaps in the namespaces where the team's code runs (governance, W&B)."""

from __future__ import annotations

import pytest

from omgml.components.governance import GovernanceArgs
from omgml.components.governance import resolve as resolve_governance
from omgml.components.wandb import WandbArgs
from omgml.components.wandb import resolve as resolve_wandb
from omgml.governance.settings import GovernanceSettings


def test_settings_namespaces_must_be_given_and_valid() -> None:
    resolve_wandb(WandbArgs(namespaces=("ml-pipelines", "training"), api_key_secret="wandb"))
    with pytest.raises(ValueError, match=r"^WandbArgs\.namespaces: empty; give the namespaces where training code runs$"):
        resolve_wandb(WandbArgs(namespaces=(), api_key_secret="wandb"))
    with pytest.raises(ValueError, match=r"^WandbArgs\.namespaces\[1\]"):
        resolve_wandb(WandbArgs(namespaces=("training", "Not_A_Label"), api_key_secret="wandb"))
    with pytest.raises(ValueError, match=r"^GovernanceArgs\.namespaces: empty; give the namespaces where pipeline"):
        resolve_governance(GovernanceArgs(namespaces=(), settings=GovernanceSettings()))
