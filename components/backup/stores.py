"""The store-specific steps of the backup and restore pods (pure): dump and load commands.

Postgres: one custom-format `pg_dump` per consumer database, as the read-only `omgml_backup`
role; restored with `pg_restore --clean --if-exists --no-owner --role=<owner>` as the
superuser, after the provisioning SQL has (re)created the roles and databases, so a wiped
server comes back whole. MySQL (Kubeflow Pipelines): one `mysqldump --single-transaction` of
both databases as the `kfp` user (KFP's own user: MySQL's init scripts run only on an empty data
directory, so a backup-only user could not be added to existing installs); loaded with `mysql`.
"""

from __future__ import annotations

from omgml import k8s as kube

BACKUP_ROLE = "omgml_backup"
WAIT_TRIES = 100  # × 3 s: how long a step waits for its server before failing


def _ctx(uid: int) -> kube.JsonDict:
    return {**kube.restricted_container_security_context(read_only_root=True), "runAsUser": uid, "runAsGroup": uid}


def _mounts() -> list[kube.JsonDict]:
    return [{"name": "work", "mountPath": "/work"}, {"name": "tmp", "mountPath": "/tmp"}]


def _wait_for(server: str, check: str) -> str:
    """Shell lines that run `check` every 3 s until it succeeds; after WAIT_TRIES tries the step
    fails naming `server`, instead of dumping from (or loading into) a server that is not up."""
    return f"""\
tries=0
until {check}; do
  tries=$((tries + 1))
  [ "$tries" -lt {WAIT_TRIES} ] || {{ echo "{server} is not ready" >&2; exit 1; }}
  sleep 3
done
"""


# --- Postgres ---------------------------------------------------------------------------------
_PG_READY = "set -eu\n" + _wait_for("Postgres at $PGHOST:$PGPORT", "pg_isready -q")
PG_DUMP_SCRIPT = _PG_READY + """\
date +%s > /work/started_at
for db in $DATABASES; do
  pg_dump --format=custom --no-password --dbname="$db" --file="/work/$db.dump"
  echo "dumped $db: $(wc -c < "/work/$db.dump") bytes"
done
"""

# The databases come from the fetched manifest (file names <db>.dump); consumer database names
# are validated [a-z0-9_], so they are safe inside the SQL literals below.
PG_RESTORE_SCRIPT = _PG_READY + """\
databases=$(grep -o '"name": "[a-z0-9_]*\\.dump"' /work/manifest.json | sed 's/.*"\\([a-z0-9_]*\\)\\.dump"/\\1/')
[ -n "$databases" ] || { echo "error: the backup holds no database dump" >&2; exit 2; }
nonempty=""
for db in $databases; do
  if [ "$(psql -XAtq -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" = 1 ]; then
    tables=$(psql -XAtq -d "$db" -c "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
  else
    tables=0
  fi
  echo "plan: database $db now holds $tables tables; the restore replaces its contents with the backup's"
  [ "$tables" -eq 0 ] || nonempty="$nonempty $db"
done
if [ "$DRY_RUN" = 1 ]; then echo "dry run: nothing changed"; exit 0; fi
if [ -n "$nonempty" ] && [ "$FORCE" != 1 ]; then
  echo "error: database(s)$nonempty are not empty; restoring would replace their data. Re-run with --force to overwrite them (--dry-run shows the plan)" >&2
  exit 3
fi
printf "%s\\n" "$PROVISION_SQL" | psql -X -q -v ON_ERROR_STOP=1 -d postgres -f -
for db in $databases; do
  pg_restore --clean --if-exists --no-owner --role="$db" --exit-on-error --dbname="$db" "/work/$db.dump"
  echo "restored $db"
done
"""


def backup_role_sql(databases: list[str], password_env: str) -> list[str]:
    """psql lines creating the read-only backup role: pg_read_all_data (SELECT on every table and
    sequence, USAGE on every schema) and CONNECT on each consumer database; nothing else."""
    lines = [
        f"SELECT format('CREATE ROLE %I LOGIN', '{BACKUP_ROLE}') "
        f"WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '{BACKUP_ROLE}')",
        "\\gexec",
        f"\\getenv omgml_password {password_env}",
        f"ALTER ROLE \"{BACKUP_ROLE}\" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
        "PASSWORD :'omgml_password';",
        "\\unset omgml_password",
        f"GRANT pg_read_all_data TO \"{BACKUP_ROLE}\";",
    ]
    lines += [f"GRANT CONNECT ON DATABASE \"{db}\" TO \"{BACKUP_ROLE}\";" for db in databases]
    return lines


def pg_dump_container(image: str, uid: int, host: str, port: int, databases: list[str], password_secret: str,
                      size: kube.Size) -> kube.JsonDict:
    return {
        "name": "dump",
        "image": image,
        "command": ["sh", "-c", PG_DUMP_SCRIPT],
        "env": [
            kube.plain_env("PGHOST", host), kube.plain_env("PGPORT", str(port)), kube.plain_env("PGUSER", BACKUP_ROLE),
            kube.secret_env("PGPASSWORD", password_secret, "password"), kube.plain_env("PGCONNECT_TIMEOUT", "10"),
            kube.plain_env("DATABASES", " ".join(databases)),
        ],
        "resources": size.resources(),
        "securityContext": _ctx(uid),
        "volumeMounts": _mounts(),
    }


def pg_restore_container(image: str, uid: int, provision_env: list[kube.JsonDict], *, dry_run: bool, force: bool,
                         size: kube.Size, probe: kube.JsonDict) -> kube.JsonDict:
    """`provision_env` is the provisioning Job's env (superuser, consumer passwords, PROVISION_SQL)."""
    return {
        "name": "restore",
        "image": image,
        "command": ["sh", "-c", PG_RESTORE_SCRIPT],
        "env": [*provision_env, kube.plain_env("DRY_RUN", "1" if dry_run else "0"), kube.plain_env("FORCE", "1" if force else "0")],
        "resources": size.resources(),
        "securityContext": _ctx(uid),
        "readinessProbe": probe,
        "livenessProbe": probe,
        "volumeMounts": _mounts(),
    }


# --- MySQL ------------------------------------------------------------------------------------
_MYSQL_CLIENT = """\
set -eu
printf '[client]\\nuser=%s\\npassword=%s\\nhost=%s\\nport=%s\\n' "$MYSQL_USER" "$MYSQL_PASSWORD" "$MYSQL_HOST" \\
  "$MYSQL_PORT" > /tmp/client.cnf
""" + _wait_for("MySQL at $MYSQL_HOST:$MYSQL_PORT", "mysqladmin --defaults-extra-file=/tmp/client.cnf ping --silent")
MYSQL_DUMP_SCRIPT = _MYSQL_CLIENT + """\
date +%s > /work/started_at
mysqldump --defaults-extra-file=/tmp/client.cnf --single-transaction --quick --routines --triggers \\
  --no-tablespaces --set-gtid-purged=OFF --databases $DATABASES > /work/mysql.sql
echo "dumped $DATABASES: $(wc -c < /work/mysql.sql) bytes"
"""
MYSQL_RESTORE_SCRIPT = _MYSQL_CLIENT + """\
in_list=$(printf "'%s'," $DATABASES | sed 's/,$//')
tables=$(mysql --defaults-extra-file=/tmp/client.cnf -N -B -e \\
  "SELECT count(*) FROM information_schema.tables WHERE table_schema IN ($in_list)")
echo "plan: databases $DATABASES now hold $tables tables; the restore replaces them with the backup's"
if [ "$DRY_RUN" = 1 ]; then echo "dry run: nothing changed"; exit 0; fi
if [ "$tables" -gt 0 ] && [ "$FORCE" != 1 ]; then
  echo "error: databases $DATABASES are not empty; restoring would replace their data. Re-run with --force to overwrite them (--dry-run shows the plan)" >&2
  exit 3
fi
mysql --defaults-extra-file=/tmp/client.cnf < /work/mysql.sql
echo "restored $DATABASES"
"""


def _mysql_env(host: str, port: int, user: str, secret: str, key: str, databases: list[str]) -> list[kube.JsonDict]:
    return [kube.plain_env("MYSQL_HOST", host), kube.plain_env("MYSQL_PORT", str(port)), kube.plain_env("MYSQL_USER", user),
            kube.secret_env("MYSQL_PASSWORD", secret, key), kube.plain_env("DATABASES", " ".join(databases))]


def mysqldump_container(image: str, uid: int, host: str, port: int, user: str, secret: str, key: str,
                        databases: list[str], size: kube.Size) -> kube.JsonDict:
    return {"name": "dump", "image": image, "command": ["sh", "-c", MYSQL_DUMP_SCRIPT],
            "env": _mysql_env(host, port, user, secret, key, databases), "resources": size.resources(),
            "securityContext": _ctx(uid), "volumeMounts": _mounts()}


def mysql_restore_container(image: str, uid: int, host: str, port: int, user: str, secret: str, key: str,
                            databases: list[str], *, dry_run: bool, force: bool, size: kube.Size,
                            probe: kube.JsonDict) -> kube.JsonDict:
    return {"name": "restore", "image": image, "command": ["sh", "-c", MYSQL_RESTORE_SCRIPT],
            "env": [*_mysql_env(host, port, user, secret, key, databases),
                    kube.plain_env("DRY_RUN", "1" if dry_run else "0"), kube.plain_env("FORCE", "1" if force else "0")],
            "resources": size.resources(), "securityContext": _ctx(uid), "readinessProbe": probe,
            "livenessProbe": probe, "volumeMounts": _mounts()}
