"""scripts/toolchain.sh cannot lie: it stops at the first failure with the command's output, says
"built" only for a binary that ran and reported the pin, and runs one at a time per cache.

A stand-in `go` (the script's GO variable) plays the toolchain, so this runs offline in seconds.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "toolchain.sh"
FAKE_GO = """#!/usr/bin/env bash
case "$1" in
  version) echo "go version go1.26.8 linux/amd64" ;;
  get) echo "go: downloading example.com/x v1.0.0"; exit "${FAKE_GET_RC:-0}" ;;
  build)
    out=""
    while [ $# -gt 0 ]; do [ "$1" = -o ] && { out="$2"; shift; }; shift; done
    case "$FAKE_BUILD" in
      fail) echo "fake: reading proxy/@v/v9.9.9.info: 403 Forbidden" >&2; exit 1 ;;
      none) exit 0 ;;
      *) printf '#!/bin/sh\\necho "%s"\\n' "$FAKE_BUILD" > "$out" ;;
    esac ;;
  *) exit 0 ;;
esac
"""


def run(tmp_path: Path, *args: str, build: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    go = tmp_path / "go"
    go.write_text(FAKE_GO)
    go.chmod(0o755)
    env = {**os.environ, "GO": str(go), "OMGML_TOOLCHAIN_DIR": str(tmp_path / "tc"), "FAKE_BUILD": build}
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_a_failed_build_stops_the_run_with_the_commands_output(tmp_path: Path) -> None:
    out = run(tmp_path, "etcd", "kwok", build="fail")
    assert out.returncode == 1
    assert "built in" not in out.stdout
    assert "cannot build etcd (go.etcd.io/etcd/server/v3@v3.6.16): compile failed" in out.stderr
    assert "403 Forbidden" in out.stderr  # the command's own words
    assert not (tmp_path / "tc" / "logs" / "kwok.log").exists(), "went on after the first failure"
    assert not (tmp_path / "tc" / "stamps" / "etcd").exists()


def test_a_build_that_wrote_no_binary_is_a_failure(tmp_path: Path) -> None:
    out = run(tmp_path, "etcd", build="none")
    assert out.returncode == 1 and "built in" not in out.stdout
    assert "reported success but wrote no" in out.stderr


def test_a_binary_reporting_another_version_is_not_installed(tmp_path: Path) -> None:
    out = run(tmp_path, "etcd", build="etcd Version: 3.5.0")
    assert out.returncode == 1 and "built in" not in out.stdout
    assert "does not report version 3.6.16: etcd Version: 3.5.0" in out.stderr
    assert not (tmp_path / "tc" / "bin" / "etcd").exists()


def test_built_then_cached_after_checking_it_still_runs(tmp_path: Path) -> None:
    first = run(tmp_path, "etcd", build="etcd Version: 3.6.16")
    assert first.returncode == 0, first.stderr
    assert "[1/1] etcd" in first.stdout and "built in" in first.stdout and "runs: etcd Version: 3.6.16" in first.stdout
    second = run(tmp_path, "etcd", build="fail")
    assert second.returncode == 0 and "cached" in second.stdout
    # A cached binary that no longer reports the pin is rebuilt (and here the rebuild fails).
    (tmp_path / "tc" / "bin" / "etcd").write_text("#!/bin/sh\necho 'etcd Version: 3.4.23'\n")
    third = run(tmp_path, "etcd", build="fail")
    assert third.returncode == 1 and "cannot build etcd" in third.stderr


def test_two_runs_on_one_cache_take_turns(tmp_path: Path) -> None:
    (tmp_path / "tc").mkdir()
    with open(tmp_path / "tc" / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        go = tmp_path / "go"
        go.write_text(FAKE_GO)
        go.chmod(0o755)
        env = {**os.environ, "GO": str(go), "OMGML_TOOLCHAIN_DIR": str(tmp_path / "tc"),
               "FAKE_BUILD": "etcd Version: 3.6.16"}
        proc = subprocess.Popen(["bash", str(SCRIPT), "etcd"], env=env, stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while not (tmp_path / "tc" / "logs").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        time.sleep(1)
        assert proc.poll() is None, "the second run did not wait for the lock"
        assert not (tmp_path / "tc" / "stamps" / "etcd").exists()
        fcntl.flock(held, fcntl.LOCK_UN)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "another run holds" in stdout and "built in" in stdout


@pytest.mark.parametrize("arg", ["--runtime", "--runtime=docker", "nosuchbinary"])
def test_bad_arguments_are_refused(tmp_path: Path, arg: str) -> None:
    out = run(tmp_path, arg, build="none")
    assert out.returncode == 2 and "toolchain.sh:" in out.stderr
