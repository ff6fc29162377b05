"""Run a Pulumi program in-process under a recording implementation of pulumi.runtime.Mocks.

This executes the very same blueprints and components as `pulumi up`; only the engine is
replaced. Each run gets a fresh contextvars.Context and event loop, so several synths in one
process (tests, `render --phase all`) do not share Pulumi's global state.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from omgml.errors import SynthError


@dataclass
class RecordedResource:
    urn: str
    type: str
    name: str
    parent_urn: str
    custom: bool
    inputs: dict[str, Any]  # wire (camelCase) names; secrets still wrapped (see is_secret_wrapper)
    dependencies: list[str] = field(default_factory=list)
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    provider: str = ""


@dataclass
class SynthResult:
    resources: list[RecordedResource]
    exports: dict[str, Any]
    collisions: list[str]

    def by_urn(self) -> dict[str, RecordedResource]:
        return {r.urn: r for r in self.resources}


@functools.cache
def _secret_sig() -> tuple[str, str]:
    # Cached: is_secret_wrapper runs for every value of every resource, and an import statement
    # per call (even of a loaded module) showed up as several percent of a render.
    from pulumi.runtime import rpc

    return rpc._special_sig_key, rpc._special_secret_sig


def is_secret_wrapper(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    key, sig = _secret_sig()
    return value.get(key) == sig


def _wrap_secret(value: Any) -> dict[str, Any]:
    key, sig = _secret_sig()
    return {key: sig, "value": value}


def mock_secret_text(urn: str, purpose: str) -> str:
    """A deterministic stand-in for a generated value, distinct per resource (never a real secret)."""
    return "mock" + hashlib.sha256(f"{urn}/{purpose}".encode()).hexdigest()[:28]


def _mock_state(typ: str, name: str, urn: str, inputs: dict[str, Any],
                stack_outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from omgml.synth.mock_outputs import provider_outputs

    state = dict(inputs)
    if typ == "random:index/randomPassword:RandomPassword":
        state["result"] = _wrap_secret(mock_secret_text(urn, "password"))
        state["bcryptHash"] = _wrap_secret(mock_secret_text(urn, "bcrypt"))
    elif typ == "random:index/randomString:RandomString":
        state["result"] = mock_secret_text(urn, "string")
    elif typ == "random:index/randomId:RandomId":
        raw = hashlib.sha256(urn.encode()).digest()[: int(inputs.get("byteLength", 16))]
        import base64

        state["b64Url"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        state["b64Std"] = base64.b64encode(raw).decode()
        state["hex"] = raw.hex()
        state["dec"] = str(int.from_bytes(raw, "big"))
    elif typ == "pulumi:pulumi:StackReference":
        ref = str(inputs.get("name", ""))
        if ref not in stack_outputs:
            raise SynthError(
                f"stack reference {ref!r} has no synthesized outputs; render the earlier phase "
                "first (omgml render --phase all does this)"
            )
        state["outputs"] = dict(stack_outputs[ref])
        state["secretOutputNames"] = []
    else:
        state.update(provider_outputs(typ, name, inputs))
    return state


def _no_stack_trace() -> Any:
    from pulumi.runtime.proto import source_pb2

    return source_pb2.StackTrace()


async def _resolve(output: Any) -> Any:
    return await output.future()


def synthesize(
    program: Callable[[], None],
    *,
    project: str,
    stack: str,
    config: dict[str, str] | None = None,
    stack_outputs: dict[str, dict[str, Any]] | None = None,
) -> SynthResult:
    """Run `program` under the recording mocks; return every registered resource and the exports."""
    ctx = contextvars.Context()
    previous = os.environ.get("PULUMI_ERROR_OUTPUT_STRING")
    # An Output used as a str is an error, not the silent "Calling __str__ on an Output" text.
    os.environ["PULUMI_ERROR_OUTPUT_STRING"] = "1"
    try:
        return ctx.run(_synthesize, program, project, stack, config or {}, stack_outputs or {})
    finally:
        if previous is None:
            os.environ.pop("PULUMI_ERROR_OUTPUT_STRING", None)
        else:
            os.environ["PULUMI_ERROR_OUTPUT_STRING"] = previous


def _synthesize(program: Callable[[], None], project: str, stack: str, config: dict[str, str],
                stack_outputs: dict[str, dict[str, Any]]) -> SynthResult:
    import pulumi
    from pulumi.runtime import mocks as pmocks
    from pulumi.runtime import rpc
    from pulumi.runtime.stack import run_pulumi_func

    recorded: dict[str, RecordedResource] = {}
    collisions: list[str] = []

    class RecordingMocks(pmocks.Mocks):
        def new_resource(self, args: pmocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
            urn = current.urn
            rec = recorded[urn]
            rec.inputs = dict(args.inputs)
            state = _mock_state(args.typ, args.name, urn, args.inputs, stack_outputs)
            return f"{args.name}-id", state

        def call(self, args: pmocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
            from omgml.synth.mock_outputs import invoke_outputs

            # An empty failure list, not None: the mock monitor iterates it.
            return invoke_outputs(args.token, dict(args.args)), []

    # RegisterResource may run on executor threads; new_resource is called synchronously from
    # it on the same thread, so a thread-local carries the URN across.
    current = threading.local()

    class RecordingMonitor(pmocks.MockMonitor):
        def RegisterResource(self, request: Any) -> Any:
            if request.type != "pulumi:pulumi:Stack":
                urn = self.make_urn(request.parent, request.type, request.name)
                if urn in recorded:
                    collisions.append(
                        f"two resources of type {request.type} named {request.name!r} under the same "
                        f"parent chain ({urn}); give children names prefixed with their component's name"
                    )
                recorded[urn] = RecordedResource(
                    urn=urn,
                    type=request.type,
                    name=request.name,
                    parent_urn=request.parent,
                    custom=bool(request.custom),
                    inputs={},
                    dependencies=sorted(set(request.dependencies)),
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    ignore_changes=list(request.ignoreChanges),
                    provider=request.provider,
                )
                if not request.custom and request.object is not None:
                    # A component's own props (most pass none): e.g. what an ExistingSecret expects.
                    recorded[urn].inputs = dict(rpc.deserialize_properties(request.object))
                current.urn = urn
            return super().RegisterResource(request)  # type: ignore[no-untyped-call]

        def ReadResource(self, request: Any) -> Any:
            # Reads (StackReference, .get()) are recorded too: they are part of the program.
            urn = self.make_urn(request.parent, request.type, request.name)
            recorded[urn] = RecordedResource(
                urn=urn, type=request.type, name=request.name, parent_urn=request.parent,
                custom=True, inputs={}, dependencies=sorted(set(request.dependencies)),
                provider=request.provider,
            )
            current.urn = urn
            return super().ReadResource(request)  # type: ignore[no-untyped-call]

    _ = rpc  # imported for its side effects on the secret signature helpers
    from pulumi.runtime import resource as runtime_resource
    from pulumi.runtime.settings import SETTINGS

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # Every registration captures the Python stack (traceback.extract_stack reads the source of
    # each frame) for the engine's source positions; the mock monitor drops them, and they cost
    # ~10 % of a synth. Restored below: a real deployment in the same process keeps them.
    capture_stack = getattr(runtime_resource, "_get_stack_trace", None)
    if capture_stack is not None:
        runtime_resource._get_stack_trace = _no_stack_trace
    # Pulumi keeps pending output tasks in a set that is shared across contexts; one left by
    # an earlier failed run would belong to a closed loop.
    SETTINGS.outputs.clear()
    try:
        mocks = RecordingMocks()
        pmocks.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=RecordingMonitor(mocks))
        pulumi.runtime.set_all_config({f"{k}": v for k, v in config.items()})
        loop.run_until_complete(run_pulumi_func(program))
        root = pulumi.runtime.get_root_resource()
        exports: dict[str, Any] = {}
        if root is not None:
            raw = getattr(root, "outputs", {})
            if raw:
                resolved: Any = loop.run_until_complete(_resolve(pulumi.Output.from_input(raw)))
                exports = dict(resolved or {})
    finally:
        # After a failed program, cancel what is still pending so closing the loop is quiet.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        SETTINGS.outputs.clear()
        if capture_stack is not None:
            runtime_resource._get_stack_trace = capture_stack
        asyncio.set_event_loop(None)
        loop.close()
    return SynthResult(resources=list(recorded.values()), exports=exports, collisions=collisions)
