"""CLI start-up and render times (prints its figures; not a test).

Each figure is the median of N runs of the installed `omgml` (a fresh process each time):
`omgml --help`, `omgml X --help` for every command, `omgml render` of the enterprise template
(local) and of fintech on aws. Targets (issue 23): --help ≤ 0.15 s, render enterprise ≤ 2.0 s,
render fintech aws ≤ 3.0 s, wall-clock on the 2-core reference machine. CPU time (user + sys)
is printed next to wall time: on a busy machine wall time grows with the load, CPU time much less.

Usage: python bench/cli_bench.py [--repeat N] [--omgml PATH] [--only help|render]
  --omgml PATH   the omgml executable to measure (default: the one next to this Python)
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"help": 0.15, "render enterprise": 2.0, "render fintech aws": 3.0}


def default_omgml() -> str:
    beside = Path(sys.executable).parent / "omgml"
    return str(beside) if beside.exists() else (shutil.which("omgml") or "omgml")


def run_once(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run; fails loudly on a non-zero exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(label: str, cmd: list[str], cwd: Path, repeat: int, target: float | None) -> float:
    runs = [run_once(cmd, cwd) for _ in range(repeat)]
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    verdict = ""
    if target is not None:
        verdict = f"  target ≤ {target:.2f}s: {'ok' if wall <= target else 'OVER'}"
    print(f"{label:<34} wall {wall:6.3f}s  cpu {cpu:6.3f}s  (median of {repeat}){verdict}", flush=True)
    return wall


def commands(omgml: str) -> list[list[str]]:
    """Every command path, from the installed CLI's own help (no import of omgml here)."""
    def listed(*path: str) -> list[str]:
        out = subprocess.run([omgml, *path, "--help"], capture_output=True, text=True, check=True).stdout
        names, in_commands = [], False
        for line in out.splitlines():
            if line.strip() == "Commands:":
                in_commands = True
                continue
            if in_commands and line.startswith("  ") and not line.startswith("   "):
                names.append(line.split()[0])
        return names

    paths = []
    for name in listed():
        paths.append([name])
        paths += [[name, sub] for sub in listed(name)]
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--omgml", default=default_omgml())
    parser.add_argument("--only", choices=("help", "render"))
    args = parser.parse_args()
    omgml = args.omgml
    print(f"omgml: {omgml}   load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}   CPUs: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="omgml-bench-") as tmp:
        work = Path(tmp)
        if args.only != "render":
            measure("omgml --help", [omgml, "--help"], work, args.repeat, TARGETS["help"])
            for path in commands(omgml):
                measure(f"omgml {' '.join(path)} --help", [omgml, *path, "--help"], work, args.repeat, TARGETS["help"])
        if args.only != "help":
            for label, init_args in (("render enterprise", ["--template", "enterprise"]),
                                     ("render fintech aws", ["--template", "fintech", "--target", "aws"])):
                project = work / label.replace(" ", "-")
                subprocess.run([omgml, "init", str(project), *init_args], capture_output=True, check=True)
                measure(f"omgml {label}", [omgml, "render", str(project)], work, args.repeat, TARGETS[label])


if __name__ == "__main__":
    main()
