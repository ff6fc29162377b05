"""Deploying for real: phase stacks through the Pulumi Automation API, and local clusters."""
