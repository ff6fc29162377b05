"""Stand-in for the prom/prometheus image's entrypoint (`/bin/prometheus`), with one change.

The tier has no Kubernetes API server to discover scrape targets from, so the rendered
`--config.file` is swapped for the tier's copy of the same file, whose `kubernetes_sd_configs`
became `file_sd_configs` over files holding what Kubernetes discovery would return
(tests/conformance/harness/kubernetes_sd.py). Every other flag is passed on unchanged.
"""

from __future__ import annotations

import os
import sys

REWRITTEN = "/omgml-conformance/sd/prometheus.yml"


def swapped(argv: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg.startswith("--config.file="):
            out.append(f"--config.file={REWRITTEN}")
        elif arg == "--config.file" and i + 1 < len(argv):
            out += ["--config.file", REWRITTEN]
            skip = True
        else:
            out.append(arg)
    return out


if __name__ == "__main__":
    args = swapped(sys.argv[1:])
    os.execvp("prometheus", ["prometheus", *args])
