"""The recommendation engine: requirements in, one explained Decision per area out.

`recommend(requirements)` is pure and deterministic; `priced_recommendation` adds the cost of
its render on aws; `Recommendation.to_platform_spec()` is what
`omgml init` writes into a project. The rules are documented in omgml.recommend.engine.
"""

from omgml.recommend.engine import recommend
from omgml.recommend.mapping import (
    CHOICE_COMPONENT,
    NOT_DEPLOYABLE,
    USE_EXISTING,
    deployable,
    phase_components,
    platform_spec,
)
from omgml.recommend.model import AREAS, CHOICES, Alternative, Decision, Recommendation
from omgml.recommend.pricing import priced_recommendation

__all__ = [
    "AREAS",
    "CHOICES",
    "CHOICE_COMPONENT",
    "NOT_DEPLOYABLE",
    "USE_EXISTING",
    "Alternative",
    "Decision",
    "Recommendation",
    "deployable",
    "phase_components",
    "platform_spec",
    "priced_recommendation",
    "recommend",
]
