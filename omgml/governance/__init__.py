"""Model governance: the steps that document, explain and check a model version before promotion.

- contract: the MLflow model-version tags and run metrics the steps write and a promotion gate
  reads (`omgml registry promote --require-tag ...`);
- settings: the settings the steps read (ConfigMap omgml-governance, env OMGML_GOVERNANCE);
- card: the model card, rendered from MLflow run and registry metadata (pure);
- fairness: fairlearn's group metrics against the thresholds (pure decision over computed values);
- steps: the runnable steps (`python -m omgml_governance.steps card|explain|fairness ...`) that
  read the model from MLflow and write their results back.

`omgml init` copies this package into the project's governance/ folder (with a Dockerfile and
pinned requirements), so the step image runs the same code the tests run.
"""
