"""A container as a sandboxed process: its root filesystem, identity and command line.

Each container runs as

    unshare -m  +  mount -t overlay (lower: the host's /, upper: the container's own layer)
    ip netns exec POD-NETNS        the pod's network
    bwrap …                        own mount/PID/IPC/UTS namespaces; root = the overlay, remounted
                                   read-only when readOnlyRootFilesystem is set; /tmp, /root, /work
                                   and /home private; the pod's /etc/hosts; volumes at mountPaths
    setpriv …                      the securityContext's user, groups, no capabilities, no_new_privs
    COMMAND                        the container's own command/args, or the image adapter's

The container's layer (the overlay's upper directory) plays the image's part: the adapter puts
the image's own paths there (config defaults, directories the image creates, symlinks to the
software that stands in), and the mount points of the pod's volumes are created in it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conformance.harness.pods import FileSpec, ManifestProblem, Pod

# Host folders every sandbox sees empty (but for the image's own files in them): the host's
# private data and other people's work.
HIDDEN = ("/root", "/home", "/work", "/tmp", "/var/tmp", "/run", "/mnt", "/srv")


@dataclass(frozen=True)
class LayerFile:
    path: str  # absolute path in the image
    content: str
    mode: int = 0o644


@dataclass(frozen=True)
class ImageRuntime:
    """What an image provides, as an adapter stands it in on this machine."""

    image: str
    software: str  # the software piece (tests/conformance/software.toml) that stands in
    version: str  # the version that actually runs
    how: str  # "exact": the container's own command runs; "adapted": an adapter does the image's part
    note: str  # what differs from the image, and why
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # the image's ENV (PATH first)
    user: int = 0  # the image's USER
    group: int = 0
    workdir: str = "/"
    binds: tuple[tuple[str, str], ...] = ()  # (host path, path in the image), read-only
    files: tuple[LayerFile, ...] = ()  # files the image holds
    dirs: tuple[tuple[str, int, int], ...] = ()  # (path, uid, mode) directories the image holds


@dataclass
class Mount:
    source: Path
    target: str
    read_only: bool


@dataclass(frozen=True)
class Identity:
    uid: int
    gid: int
    groups: tuple[int, ...]


@dataclass
class SandboxSpec:
    netns: str
    hostname: str
    argv: list[str]
    env: dict[str, str]
    identity: Identity
    workdir: str
    mounts: list[Mount]
    etc_files: dict[str, Path]  # /etc/hosts etc. → host file
    read_only_root: bool
    layer: Path  # holds upper/, work/, merged/
    binds: list[tuple[str, str]] = field(default_factory=list)  # read-only (host, target)
    info_fd: int | None = None


def identity_for(pod: Pod, container: dict[str, Any], runtime: ImageRuntime) -> Identity:
    """The user a container runs as; refuses what the kubelet refuses (runAsNonRoot as root)."""
    pod_sc = pod.spec.get("securityContext", {}) or {}
    sc = container.get("securityContext", {}) or {}
    uid = int(sc.get("runAsUser", pod_sc.get("runAsUser", runtime.user)))
    default_gid = runtime.group if uid == runtime.user else 0
    gid = int(sc.get("runAsGroup", pod_sc.get("runAsGroup", default_gid)))
    non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot", False))
    if non_root and uid == 0:
        raise ManifestProblem(
            f"pod {pod.key} container {container['name']}: runAsNonRoot is set but the container would run as "
            f"root (no runAsUser, and {runtime.image} runs as root) — the kubelet refuses to start it")
    groups = [int(g) for g in pod_sc.get("supplementalGroups", []) or []]
    if "fsGroup" in pod_sc:
        groups.append(int(pod_sc["fsGroup"]))
    return Identity(uid, gid, tuple(dict.fromkeys(groups)))


def read_only_root(container: dict[str, Any]) -> bool:
    return bool((container.get("securityContext", {}) or {}).get("readOnlyRootFilesystem", False))


def setpriv_argv(ident: Identity) -> list[str]:
    groups = f"--groups={','.join(str(g) for g in ident.groups)}" if ident.groups else "--clear-groups"
    return ["setpriv", f"--reuid={ident.uid}", f"--regid={ident.gid}", groups,
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


def bwrap_argv(spec: SandboxSpec, memory_cgroup: Path | None = None) -> list[str]:
    """The full command line that starts the container (pure)."""
    layer = spec.layer
    inner: list[str] = ["bwrap", "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                        "--hostname", spec.hostname, "--bind", str(layer / "merged"), "/"]
    if spec.info_fd is not None:
        inner += ["--info-fd", str(spec.info_fd)]
    # /dev/shm as the kubelet gives it: a world-writable tmpfs (sticky), also on a read-only root.
    inner += ["--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/dev/shm"]
    # bwrap creates missing parents 0700; below the hidden folders they must be traversable.
    for parent in _hidden_parents([t for _, t in spec.binds] + [m.target for m in spec.mounts]):
        inner += ["--perms", "0755", "--dir", parent]
    for host, target in spec.binds:
        inner += ["--ro-bind", host, target]
    for etc_path, etc_source in sorted(spec.etc_files.items()):
        inner += ["--ro-bind", str(etc_source), etc_path]
    # Parents before children, so a volume inside another volume's path lands on top.
    for m in sorted(spec.mounts, key=lambda m: m.target.count("/")):
        inner += ["--ro-bind" if m.read_only else "--bind", str(m.source), m.target]
    if spec.read_only_root:
        # The whole root, the image's own /tmp, /home… included (a real read-only root has no
        # writable /tmp); a volume mounted there stays as mounted.
        inner += ["--remount-ro", "/"]
    inner += ["--chdir", spec.workdir or "/", "--clearenv"]
    for k, v in spec.env.items():
        inner += ["--setenv", k, v]
    inner += ["--", *setpriv_argv(spec.identity), *spec.argv]
    mount = (f"mount -t overlay overlay -o lowerdir=/,upperdir={layer}/upper,workdir={layer}/work "
             f'{layer}/merged && exec "$@"')
    outer = ["unshare", "--mount", "--propagation", "private", "sh", "-c", mount, "sh",
             "ip", "netns", "exec", spec.netns, *inner]
    if memory_cgroup is not None:
        outer = ["sh", "-c", f'echo $$ > {memory_cgroup}/cgroup.procs && exec "$@"', "sh", *outer]
    return outer


def _hidden_parents(targets: list[str]) -> list[str]:
    """The directories between a HIDDEN folder and each target below it, shallowest first."""
    out: list[str] = []
    for target in targets:
        root = next((h for h in HIDDEN if target.startswith(h + "/")), None)
        if root is None:
            continue
        parts = target[len(root):].strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = root + "/" + "/".join(parts[:i])
            if d not in out:
                out.append(d)
    return out


def exec_argv(pid: int, ident: Identity, env: dict[str, str], workdir: str, argv: list[str]) -> list[str]:
    """Run a command inside a running container (`kubectl exec`, exec probes, preStop hooks): its
    namespaces, its root, its user, its env, in its working directory."""
    return ["nsenter", f"--target={pid}", "--mount", "--uts", "--ipc", "--net", "--pid", "--root", "--",
            *setpriv_argv(ident), "env", "-i", *[f"{k}={v}" for k, v in env.items()],
            "sh", "-c", 'cd "$0" && exec "$@"', workdir or "/", *argv]


def build_layer(layer: Path, runtime: ImageRuntime, mount_points: list[str], file_mount_points: list[str]) -> None:
    """The container's own layer: the image's files and directories, and the mount points of its
    volumes (directories) and of the pod's /etc files (files)."""
    for sub in ("upper", "work", "merged"):
        (layer / sub).mkdir(parents=True, exist_ok=True)
    upper = layer / "upper"
    # The host's private folders are not part of the image: opaque directories in the layer hide
    # what the host has there (overlayfs' "opaque" xattr), while the image's own files in them
    # (a user's home, say) stay visible. /tmp and /var/tmp as images have them: 1777.
    for path in HIDDEN:
        d = upper / path.lstrip("/")
        d.mkdir(parents=True, exist_ok=True)
        os.setxattr(d, "trusted.overlay.opaque", b"y")
        os.chmod(d, 0o1777 if path in ("/tmp", "/var/tmp") else 0o755)
    for path, uid, mode in runtime.dirs:
        d = upper / path.lstrip("/")
        d.mkdir(parents=True, exist_ok=True)
        os.chown(d, uid, uid)
        os.chmod(d, mode)
    for f in runtime.files:
        p = upper / f.path.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f.content, encoding="utf-8")
        os.chmod(p, f.mode)
    for target in mount_points:
        d = upper / target.lstrip("/")
        if not d.exists():
            d.mkdir(parents=True, exist_ok=True)
    for target in file_mount_points:
        point = upper / target.lstrip("/")
        if not point.exists():
            point.parent.mkdir(parents=True, exist_ok=True)
            point.touch()


def write_files(root: Path, files: list[FileSpec], gid: int | None) -> None:
    """A configMap/secret volume: its files with their modes, group-owned by fsGroup as the kubelet does."""
    root.mkdir(parents=True, exist_ok=True)
    for f in files:
        path = root / f.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f.content, encoding="utf-8")
        os.chown(path, 0, gid if gid is not None else 0)
        os.chmod(path, f.mode)
    os.chmod(root, 0o755)


def prepare_empty_dir(path: Path, fs_group: int | None) -> None:
    """An emptyDir: world-writable (the kubelet creates it 0777), group fsGroup with setgid."""
    path.mkdir(parents=True, exist_ok=True)
    if fs_group is not None:
        os.chown(path, 0, fs_group)
        os.chmod(path, 0o2777)
    else:
        os.chmod(path, 0o777)


def prepare_claim_dir(path: Path, fs_group: int | None) -> None:
    """A claim's volume as a block-device volume presents it: root-owned; with fsGroup the kubelet
    makes it group fsGroup, group-writable, setgid (EBS/local PV behaviour)."""
    if not path.exists():
        path.mkdir(parents=True)
        os.chmod(path, 0o755)
    if fs_group is not None:
        os.chown(path, 0, fs_group)
        os.chmod(path, 0o2775)
