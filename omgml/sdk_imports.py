"""Load only the Pulumi SDK modules a program uses.

pulumi_aws and pulumi_kubernetes register each service or API group (`pulumi_aws.ec2`,
`pulumi_kubernetes.core`, …) as a lazy module: the first attribute access runs the package's
`__init__`, which imports every resource of the service (ec2: ~180 modules, core/v1: ~50). A
render of a platform on aws touches about 60 resource classes but used to load ~900 SDK
modules, the largest single cost of a render.

`use_lean_sdk_packages()` puts a light package module in place of each lazy one that has not
been loaded yet. It finds a name in the module the SDKs put it in: pulumi_aws names the module
of a resource after the class in snake case (`Vpc` → `vpc.py`, its `VpcArgs` too),
pulumi_kubernetes after the class itself (`ConfigMap.py`), nested input and output types live in
`_inputs.py` / `outputs.py`. Anything it cannot place, and `dir()` or a star import, loads the
real package into the same module object, so every name the SDKs export stays reachable and
is the same object either way (tests/test_sdk_imports.py checks both renders are identical).
It changes which modules get imported, never what they contain.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import re
import sys
import types
from pathlib import Path
from typing import Any

SDK_PACKAGES = ("pulumi_aws", "pulumi_kubernetes")
_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")
# Suffixes of the args types a resource module defines next to its resource class.
_ARGS_SUFFIXES = ("InitArgs", "ArgsDict", "Args")
# Where the SDKs keep types that are not resources (nested inputs, outputs, enums).
_SHARED_MODULES = ("_inputs", "outputs", "_enums")


def _snake(name: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def _module_candidates(name: str) -> list[str]:
    """Module names that may define `name`, most likely first."""
    bases = [name]
    for suffix in _ARGS_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            bases.append(name[: -len(suffix)])
            break
    if name.endswith("_output"):  # an invoke's Output form lives next to it: get_vpc_output → get_vpc
        bases.append(name[: -len("_output")])
    out: list[str] = []
    for base in bases:
        for candidate in (base, _snake(base)):
            if candidate not in out:
                out.append(candidate)
    return out + [m for m in _SHARED_MODULES if m not in out]


class LeanPackage(types.ModuleType):
    """A package module that imports a submodule only when one of its names is asked for."""

    def __getattr__(self, name: str) -> Any:
        if name == "__all__":  # a star import: it gets what the real package exports
            self._load_all()
            if name in self.__dict__:
                return self.__dict__[name]
            raise AttributeError(name)
        if name.startswith("__"):
            raise AttributeError(name)
        value = self._find(name)
        setattr(self, name, value)
        return value

    def __dir__(self) -> list[str]:
        self._load_all()
        return sorted(self.__dict__)

    @property
    def _folder(self) -> Path:
        return Path(self.__path__[0])

    def _find(self, name: str) -> Any:
        folder = self._folder
        if (folder / name / "__init__.py").is_file():
            return lean_package(f"{self.__name__}.{name}", self)
        for candidate in _module_candidates(name):
            if not (folder / f"{candidate}.py").is_file():
                continue
            module = importlib.import_module(f"{self.__name__}.{candidate}")
            if candidate != name and self.__dict__.get(candidate) is module:
                # The import bound the submodule on this package under its own name, which is
                # also the name of the class it defines (`PersistentVolumeClaim` after a lookup
                # of `PersistentVolumeClaimArgs`): unbind it, so that name resolves to the class.
                del self.__dict__[candidate]
            exported = getattr(module, "__all__", None)
            # What the real package's `from .<module> import *` would bind to this name.
            if name in vars(module) and (exported is None or name in exported):
                return vars(module)[name]
            if candidate == name:
                return module  # a submodule asked for by name (`outputs`, `_inputs`, `vpc`)
        self._load_all()
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None

    def _load_all(self) -> None:
        """Run the real package `__init__` in this module: every name, as the SDK defines it."""
        if self.__dict__.get("_omgml_loaded_all"):
            return
        self.__dict__["_omgml_loaded_all"] = True
        assert self.__spec__ is not None and self.__spec__.loader is not None
        self.__spec__.loader.exec_module(self)


def lean_package(fqn: str, parent: types.ModuleType) -> LeanPackage:
    """A LeanPackage for the package `fqn` (not imported yet), registered like an import would."""
    spec = importlib.machinery.PathFinder.find_spec(fqn, list(parent.__path__))
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"{fqn} is not a package")
    module = LeanPackage(fqn)
    module.__spec__ = spec
    module.__loader__ = spec.loader
    module.__file__ = spec.origin
    module.__path__ = list(spec.submodule_search_locations)
    module.__package__ = fqn
    sys.modules[fqn] = module
    setattr(parent, fqn.rsplit(".", 1)[1], module)
    return module


def use_lean_sdk_packages() -> list[str]:
    """Replace each lazy, not yet loaded top-level package of the Pulumi SDKs with a LeanPackage.
    Idempotent; returns the packages replaced (none when the SDKs load eagerly)."""
    try:
        from pulumi._utils import _LazyModule
    except ImportError:  # another lazy-loading scheme: leave the SDKs as they are
        return []
    replaced = []
    for top in SDK_PACKAGES:
        try:
            package = importlib.import_module(top)
        except ImportError:
            continue
        for name, value in list(vars(package).items()):
            # isinstance reads only __class__, which does not trigger the lazy load.
            if isinstance(value, _LazyModule) and sys.modules.get(f"{top}.{name}") is value:
                lean_package(f"{top}.{name}", package)
                replaced.append(f"{top}.{name}")
    return replaced
