"""The one shape of an omgml component (design.md §3), written once.

A component is `class Tool(Component[ToolArgs, ResolvedTool], type_token=..., resolve=resolve)`
with a `build()` that creates its children and returns its outputs. `Component.__init__` runs
the steps in the order every component follows: register under the (frozen) type token,
resolve the args (pure: defaults and validation), build with the child options for the args'
profile, and register the outputs `build` returned last, so no component skips or reorders one.

`ComponentArgs` holds the fields every in-cluster component is told (where it runs, which
copy it is, how big), and `check_component_args` is the check every `resolve()` starts with.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import pulumi

from omgml.components.options import Children
from omgml.naming import require_dns_label
from omgml.spec.common import Profile


@dataclass(frozen=True, kw_only=True)
class ComponentArgs:
    """Where a component runs, which copy it is and how big it is sized.

    `instance` prefixes its object names and is its app.kubernetes.io/instance label, so two
    copies in one namespace do not collide; subclasses give it their tool's default."""

    namespace: str
    instance: str
    profile: Profile = "laptop"


@dataclass(frozen=True, kw_only=True)
class ServerArgs(ComponentArgs):
    """A component whose server is a stateless Deployment: `replicas` pods behind its Service
    (more than one also gets a PodDisruptionBudget)."""

    replicas: int = 1


class Profiled(Protocol):
    """Args that name a sizing profile (every component's that `Component` builds)."""

    @property
    def profile(self) -> Profile: ...


class Placed(Profiled, Protocol):
    """Args with the common fields (ComponentArgs, or a dataclass that declares the same)."""

    @property
    def namespace(self) -> str: ...

    @property
    def instance(self) -> str: ...


def check_component_args(owner: str, args: Placed, profiles: Collection[str]) -> None:
    """The namespace and instance are DNS labels and the profile is one the component sizes for
    (`profiles`: its sizing table); errors name `<owner>.<field>`, the value and the fix."""
    require_dns_label(f"{owner}.namespace", args.namespace)
    require_dns_label(f"{owner}.instance", args.instance)
    if args.profile not in profiles:
        raise ValueError(f"{owner}.profile: {args.profile!r} is unknown; use one of {sorted(profiles)}")


def require_between(field: str, value: int, low: int, high: int, why: str = "") -> int:
    """`value` when `low` ≤ value ≤ `high`, else a ValueError naming `field`, the value and the range
    (`why`: where the bounds come from, when they are not obvious)."""
    if not low <= value <= high:
        raise ValueError(f"{field}={value}: use {low} to {high}" + (f" ({why})" if why else ""))
    return value


def _no_type_token(cls: type[Any]) -> str:
    subclasses = ", ".join(c.__name__ for c in cls.__subclasses__())
    if subclasses:
        return f"{cls.__name__} names no type token: it is a shared base; use one of its subclasses ({subclasses})"
    return f"{cls.__name__} names no type token; give its class line type_token=..."


ArgsT = TypeVar("ArgsT", bound=Profiled)
ResolvedT = TypeVar("ResolvedT")


class Component(pulumi.ComponentResource, Generic[ArgsT, ResolvedT]):
    """Base of the ComponentResources that resolve their args into a plan before building.

    `class Tool(Component[ToolArgs, ResolvedTool], type_token=TOKEN, resolve=resolve)`: the
    class line names the type token and the pure `resolve(args)`; `build` gets the args, what
    `resolve` returned and the child options, and returns the outputs."""

    TYPE_TOKEN: ClassVar[str] = ""
    _resolve: ClassVar[Callable[[Any], Any]]

    def __init_subclass__(cls, type_token: str = "", resolve: Callable[[Any], Any] | None = None,
                          **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if type_token:
            cls.TYPE_TOKEN = type_token
        if resolve is not None:
            cls._resolve = staticmethod(resolve)

    def __init__(self, name: str, args: ArgsT, opts: pulumi.ResourceOptions | None = None) -> None:
        if not self.TYPE_TOKEN:
            # Checked before registering: an empty type token would reach the engine.
            raise TypeError(_no_type_token(type(self)))
        super().__init__(self.TYPE_TOKEN, name, None, opts)
        # Resolve first: a bad field fails before any child exists.
        resolved: ResolvedT = type(self)._resolve(args)
        self.register_outputs(self.build(name, args, resolved, Children(self, args.profile)))

    def build(self, name: str, args: ArgsT, r: ResolvedT, children: Children) -> pulumi.Inputs:
        """Create the children (options from `children`, a plan `r`) and return the outputs."""
        raise NotImplementedError(f"{type(self).__name__} must define build()")
