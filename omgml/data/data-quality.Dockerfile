# The omgml data-quality runner: Great Expectations (GX Core) and pyarrow. (Lineage events are
# plain JSON POSTs of the runner itself: no OpenLineage client needed.)
#
# GX Core publishes no official image, and the platform's pods never install packages when they
# start, so the runs execute in this image. Every package in requirements.txt is pinned by
# version and sha256 (wheels only), so a rebuild installs exactly the same files.
#
#   docker build -t <image> images/data-quality
#   kind load docker-image <image> --name <cluster>      # a local kind cluster
#   docker push <image>                                 # your registry (aws: set
#                                                       # phases.foundation.data_quality.image)
#
# <image> is the tag `omgml render` shows for the data-quality CronJob (it changes with this
# folder's content). The program the pods run (gx_run.py) is mounted from a ConfigMap.
FROM python:3.11.14-slim-trixie
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir --require-hashes --only-binary=:all: -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt
# The pods run as uid 1000 with a read-only root; HOME and /tmp are volumes there.
RUN useradd --uid 1000 --create-home --shell /usr/sbin/nologin gx
USER 1000
WORKDIR /home/gx
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 GX_ANALYTICS_ENABLED=False
