"""What omgml's batch programs share inside their pods: the data-quality runner
(data_quality/gx_run.py) and the drift job (evidently/drift_job.py).

Each program runs on its own in another image (GX's runner image, Evidently's), so this module
imports nothing from omgml and, at import, nothing outside the standard library. Its component
ships it verbatim in the same ConfigMap as the program, next to it: run as a script, the program
imports it as the top-level module `job_runtime`; imported as part of omgml (tests, renders) as
`omgml.components.job_runtime`.

- a heartbeat file the pods' probes read (a batch step serves no port);
- datasets under an s3:// prefix (parquet or CSV files) read with pyarrow's S3 filesystem, which
  follows an S3-compatible endpoint and takes credentials from the AWS SDK's default chain (the
  key Secret's env in-cluster, the IRSA web identity on AWS S3), with a size limit;
- results pushed to the Pushgateway under a base64url-encoded grouping key.
"""

from __future__ import annotations

import base64
import io
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# The programs import this module by its file name, so their ConfigMaps hold it under this key.
FILE_NAME = "job_runtime.py"
MAX_BYTES = 512 * 1024 * 1024  # per dataset: a larger one needs sampling before it gets here
SUFFIXES = {"parquet": ".parquet", "csv": ".csv"}
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"  # Prometheus' text exposition format


def start_heartbeat(path: str, every: float = 10.0, stop: threading.Event | None = None) -> threading.Thread:
    """Touch `path` every few seconds from a daemon thread: the pod's probes read its age."""
    done = stop or threading.Event()

    def beat() -> None:
        while not done.is_set():
            with open(path, "w") as handle:
                handle.write(str(time.time()))
            done.wait(every)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    return thread


def parse_s3_url(url: str) -> tuple[str, str]:
    """s3://bucket/prefix -> (bucket, prefix)."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {url!r}")
    return bucket, prefix


def selector_base(bucket: str, prefix: str) -> str:
    """The pyarrow path of a bucket prefix: `bucket/a/b` (a prefix is a folder of files)."""
    return "/".join(p for p in (bucket, prefix.strip("/")) if p)


def s3_filesystem_options(env: Mapping[str, str]) -> dict[str, str]:
    """Keyword arguments of pyarrow.fs.S3FileSystem for the pod's env. No keys: the SDK's default
    credential chain reads them (or the web identity) from the environment itself."""
    options = {"region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"}
    endpoint = env.get("S3_ENDPOINT_URL", "")
    if endpoint:  # "" is AWS S3 itself
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            raise SystemExit(f"S3_ENDPOINT_URL {endpoint!r} is not http(s)://host[:port]")
        options["endpoint_override"] = parts.netloc
        options["scheme"] = parts.scheme
    return options


def dataset_files(files: Iterable[tuple[str, int]], fmt: str, setting: str = "format") -> list[tuple[str, int]]:
    """(path, size) of the dataset's files among `files`, by suffix, in a stable order; `setting`
    names where the format came from in the error."""
    if fmt not in SUFFIXES:
        raise SystemExit(f"{setting} {fmt!r} is not one of {sorted(SUFFIXES)}")
    return sorted((path, size) for path, size in files if path.endswith(SUFFIXES[fmt]))


def check_size(url: str, files: Sequence[tuple[str, int]], fmt: str, limit: int = MAX_BYTES, run: str = "run") -> None:
    """Fail on an empty dataset and on one over `limit` bytes (`run` names the program's run)."""
    if not files:
        raise SystemExit(f"no {fmt} files under {url}")
    total = sum(size for _, size in files)
    if total > limit:
        raise SystemExit(f"{url} holds {total} bytes of data, over the {run}'s {limit} byte limit; sample it first")


def pushgateway_path(job: str, label: str, value: str) -> str:
    """Grouping key path; the `label` value is base64url-encoded so any name is safe."""
    encoded = base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii")
    return f"/metrics/job/{job}/{label}@base64/{encoded}"


def source() -> str:
    """This module's text as the components ship it (read from the installed omgml package)."""
    from importlib import resources

    return resources.files(__package__ or "").joinpath(FILE_NAME).read_text(encoding="utf-8")


# --- what needs the image (pyarrow, pandas) or the network ------------------------------------------

def send(url: str, body: bytes, content_type: str, method: str = "POST") -> None:
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def push_metrics(pushgateway_url: str, job: str, label: str, value: str, body: str) -> None:
    """Replace the metrics of one grouping key (PUT: series of an earlier run do not linger)."""
    send(pushgateway_url.rstrip("/") + pushgateway_path(job, label, value), body.encode("utf-8"),
         METRICS_CONTENT_TYPE, method="PUT")


def open_store(env: Mapping[str, str]) -> Any:
    from pyarrow import fs

    return fs.S3FileSystem(**s3_filesystem_options(env))


def read_dataset(store: Any, url: str, fmt: str, setting: str = "format", run: str = "run") -> Any:
    """Every parquet (or CSV) file under the s3:// prefix `url`, as one DataFrame."""
    import pandas as pd
    from pyarrow import fs

    bucket, prefix = parse_s3_url(url)
    infos = store.get_file_info(fs.FileSelector(selector_base(bucket, prefix), recursive=True, allow_not_found=True))
    files = dataset_files(((i.path, i.size) for i in infos if i.type == fs.FileType.File), fmt, setting)
    check_size(url, files, fmt, run=run)
    frames = []
    for path, _ in files:
        with store.open_input_stream(path) as stream:
            raw = io.BytesIO(stream.read())
        frames.append(pd.read_parquet(raw) if fmt == "parquet" else pd.read_csv(raw))
    return pd.concat(frames, ignore_index=True)
