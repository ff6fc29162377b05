"""Backups: the agent that runs in the backup pods (agent.py), the Job builders (jobs.py) and the
store-specific dump and load steps (stores.py). Callers import those modules directly."""
