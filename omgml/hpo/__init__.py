"""The HPO samples `omgml init` writes: a Katib trial and an Optuna study, both logging to MLflow.

The code that runs in the pods is here as real modules (linted, type-checked, tested on small
data); `omgml.hpo.samples` copies it into the project's hpo/ folder with the manifests around it.
"""
