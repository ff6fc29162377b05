"""Stand-in for the apache/kafka image's `/etc/kafka/docker/run`, run from the same env.

The image's scripts (docker/resources/common-scripts/{run,configure} and docker/jvm/launch in
apache/kafka) do, in order, and so does this:
- in KRaft mode (KAFKA_PROCESS_ROLES set) CLUSTER_ID is required; a controller-only node must not
  set KAFKA_ADVERTISED_LISTENERS;
- KAFKA_LISTENERS, when unset, is KAFKA_ADVERTISED_LISTENERS with every host turned into 0.0.0.0;
- /opt/kafka/config must be writable;
- `kafka.docker.KafkaDockerWrapper setup` (Kafka's own class, from the same jars) writes
  server.properties from the KAFKA_* variables into /opt/kafka/config and formats the log
  directories with CLUSTER_ID ("already formatted" is fine);
- `exec kafka-server-start.sh /opt/kafka/config/server.properties`.
Left out: the JMX defaults and the class-data-sharing archive (performance only).
"""

from __future__ import annotations

import os
import re
import subprocess

DEFAULTS_DIR = "/etc/kafka/docker"
MOUNTED_DIR = "/mnt/shared/config"
CONFIG_DIR = "/opt/kafka/config"


def fail(message: str) -> None:
    print(message, flush=True)
    raise SystemExit(1)


def configure(env: dict[str, str]) -> None:
    roles = env.get("KAFKA_PROCESS_ROLES", "")
    if roles:
        print("Running in KRaft mode...", flush=True)
        if not env.get("CLUSTER_ID"):
            fail("CLUSTER_ID environment variable not set")
        if roles == "controller":
            if env.get("KAFKA_ADVERTISED_LISTENERS"):
                fail("KAFKA_ADVERTISED_LISTENERS is not supported on a KRaft controller.")
            env.pop("KAFKA_ADVERTISED_LISTENERS", None)
    if not env.get("KAFKA_LISTENERS") and roles != "controller" and env.get("KAFKA_ADVERTISED_LISTENERS"):
        env["KAFKA_LISTENERS"] = re.sub(r"://[^:]*:", "://0.0.0.0:", env["KAFKA_ADVERTISED_LISTENERS"])
    if not os.access(CONFIG_DIR, os.W_OK):
        fail(f"{CONFIG_DIR}/ file not writable")


def setup(env: dict[str, str]) -> None:
    java = os.path.join(env["JAVA_HOME"], "bin", "java") if env.get("JAVA_HOME") else "java"
    argv = [java, *env.get("KAFKA_HEAP_OPTS", "-Xmx256M").split(), *env.get("KAFKA_LOG4J_OPTS", "").split(),
            "-cp", "/opt/kafka/libs/*", "kafka.docker.KafkaDockerWrapper", "setup",
            "--default-configs-dir", DEFAULTS_DIR, "--mounted-configs-dir", MOUNTED_DIR,
            "--final-configs-dir", CONFIG_DIR]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    print(out.stdout + out.stderr, end="", flush=True)
    if out.returncode != 0 and "already formatted" not in (out.stdout + out.stderr).lower():
        fail(f"KafkaDockerWrapper setup failed ({out.returncode})")


def main() -> None:
    env = dict(os.environ)
    print(f"===> User\n{subprocess.run(['id'], capture_output=True, text=True, check=False).stdout}", end="")
    configure(env)
    print(f"===> Using provided cluster id {env.get('CLUSTER_ID', '')} ...", flush=True)
    setup(env)
    os.execvpe("/opt/kafka/bin/kafka-server-start.sh",
               ["kafka-server-start.sh", f"{CONFIG_DIR}/server.properties"], env)


if __name__ == "__main__":
    main()
