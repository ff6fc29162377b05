"""Builds the tier's tiny TorchServe model archive: a TorchScript of a fixed linear layer
(weights chosen so the expected output is known), packed with torch-model-archiver. Prints one
JSON line with the archive, base64-encoded (a few kB), for `s3_put.py` to upload where the model
server's sync container reads. Environment: MODEL.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import torch

WORK = Path("/tmp/archive")
HANDLER = Path(__file__).parent / "torchserve_model" / "handler.py"


def main() -> None:
    name = os.environ["MODEL"]
    WORK.mkdir(parents=True, exist_ok=True)
    layer = torch.nn.Linear(4, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]]))
        layer.bias.copy_(torch.tensor([0.5, -1.0]))
    torch.jit.script(layer).save(str(WORK / "tiny.pt"))
    subprocess.run(["torch-model-archiver", "--model-name", name, "--version", "1.0", "--serialized-file",
                    str(WORK / "tiny.pt"), "--handler", str(HANDLER), "--export-path", str(WORK), "--force"],
                   check=True)
    archive = (WORK / f"{name}.mar").read_bytes()
    print(json.dumps({"archive_b64": base64.b64encode(archive).decode()}), flush=True)


if __name__ == "__main__":
    main()
