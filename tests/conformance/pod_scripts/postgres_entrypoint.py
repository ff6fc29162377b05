"""Stand-in for the official postgres image's `docker-entrypoint.sh`, run from the same env.

What the image's entrypoint does (docker-library/postgres, 18/alpine), and so what this does:
- a first argument starting with `-` means "postgres with these options";
- for `postgres`: PGDATA is created (0700) and /var/run/postgresql (3777); when PGDATA holds no
  cluster yet, POSTGRES_PASSWORD is required (unless POSTGRES_HOST_AUTH_METHOD=trust), `initdb`
  runs with `--username=$POSTGRES_USER --pwfile=<password>` and $POSTGRES_INITDB_ARGS,
  `host all all all $POSTGRES_HOST_AUTH_METHOD` (default scram-sha-256) is appended to
  pg_hba.conf, a temporary server on the socket only creates $POSTGRES_DB when it is not
  `postgres`, and stops;
- then `exec postgres "$@"`.

Two things the image has built in are set in postgresql.conf after initdb, because the stand-in
binaries are a generic build: `listen_addresses = '*'` (the image edits its sample config) and
`unix_socket_directories = '/var/run/postgresql'` (Alpine's build default).
Running as root (the image's default user) is refused here: the image would drop to the
postgres user, and omgml's pods never run it as root.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SOCKET_DIR = "/var/run/postgresql"


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def setup_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("POSTGRES_USER", "postgres")
    env.setdefault("POSTGRES_DB", env["POSTGRES_USER"])
    env.setdefault("POSTGRES_HOST_AUTH_METHOD", "scram-sha-256")
    env.setdefault("PGDATA", "/var/lib/postgresql/18/docker")
    return env


def create_dirs(env: dict[str, str]) -> None:
    pgdata = Path(env["PGDATA"])
    pgdata.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):  # the image ignores this failure too (`|| :`)
        pgdata.chmod(0o700)
    sock = Path(SOCKET_DIR)
    sock.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):
        sock.chmod(0o3777)


def init_cluster(env: dict[str, str]) -> None:
    if not env.get("POSTGRES_PASSWORD") and env["POSTGRES_HOST_AUTH_METHOD"] != "trust":
        fail("Database is uninitialized and superuser password is not specified. "
             "You must specify POSTGRES_PASSWORD to a non-empty value for the superuser.")
    pgdata = env["PGDATA"]
    with tempfile.NamedTemporaryFile("w", dir="/tmp", delete=False) as pw:
        pw.write(env.get("POSTGRES_PASSWORD", "") + "\n")
        pwfile = pw.name
    try:
        args = ["initdb", f"--username={env['POSTGRES_USER']}", f"--pwfile={pwfile}", "-D", pgdata]
        args += env.get("POSTGRES_INITDB_ARGS", "").split()
        subprocess.run(args, check=True, env=env)
    finally:
        os.unlink(pwfile)
    with open(os.path.join(pgdata, "pg_hba.conf"), "a", encoding="utf-8") as hba:
        hba.write(f"\nhost all all all {env['POSTGRES_HOST_AUTH_METHOD']}\n")
    with open(os.path.join(pgdata, "postgresql.conf"), "a", encoding="utf-8") as conf:
        conf.write(f"\nlisten_addresses = '*'\nunix_socket_directories = '{SOCKET_DIR}'\n")
    if env["POSTGRES_DB"] != "postgres":
        subprocess.run(["pg_ctl", "-D", pgdata, "-o", "-c listen_addresses=''", "-w", "start"], check=True, env=env)
        try:
            subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "--username", env["POSTGRES_USER"], "-h", SOCKET_DIR,
                            "--dbname", "postgres", "-c", f'CREATE DATABASE "{env["POSTGRES_DB"]}"'],
                           check=True, env={**env, "PGPASSWORD": env.get("POSTGRES_PASSWORD", "")})
        finally:
            subprocess.run(["pg_ctl", "-D", pgdata, "-m", "fast", "-w", "stop"], check=True, env=env)
    print("PostgreSQL init process complete; ready for start up.", flush=True)


def main(argv: list[str]) -> None:
    if argv and argv[0].startswith("-"):
        argv = ["postgres", *argv]
    if not argv or argv[0] != "postgres":
        os.execvp(argv[0], argv)
    if os.getuid() == 0:
        fail("the stand-in runs as the postgres user only; set runAsUser (omgml renders 70)")
    env = setup_env()
    create_dirs(env)
    if not Path(env["PGDATA"], "PG_VERSION").exists():
        init_cluster(env)
    else:
        print("PostgreSQL Database directory appears to contain a database; Skipping initialization", flush=True)
    os.execvpe("postgres", argv, env)


if __name__ == "__main__":
    main(sys.argv[1:])
