"""Backups: the agent that runs in the backup pods (agent.py) and the Job builders (jobs.py)."""

from omgml.components.backup.jobs import (
    BACKUP_OF_LABEL,
    BackupNames,
    BackupSettings,
    agent_job,
    agent_script,
    backup_cronjob,
    pushgateway_egress,
    pushgateway_ingress,
    restore_job,
)

__all__ = [
    "BACKUP_OF_LABEL", "BackupNames", "BackupSettings", "agent_job", "agent_script", "backup_cronjob",
    "pushgateway_egress", "pushgateway_ingress", "restore_job",
]
