"""Day-two commands: what a platform's users run once it is up.

`omgml status` (one view across phases), `omgml registry` (MLflow's model registry) and
`omgml pipeline` (Kubeflow Pipelines, Airflow or Prefect behind one interface). The modules
here talk to the platform's own HTTP APIs with the standard library and reach them by URL, from
inside the cluster, or through an automatic port-forward (`reach.py`); nothing here imports
pulumi, so the commands stay quick.
"""
