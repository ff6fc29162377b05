"""Prometheus with Alertmanager, Pushgateway and Grafana (installed as ``omgml.components.prometheus``).

- component: the `Prometheus` component, wiring the parts below into resources;
- model: its args, scrape targets and resolution (pure);
- server, alertmanager, pushgateway, grafana: each part's configuration and workload (pure);
- rules and dashboards: the alerting rules and the Grafana dashboard, from the metrics the
  deployed exporters serve (exporters); promql: the small PromQL tokenizer both rely on.
"""

from omgml.components.prometheus.component import TYPE_TOKEN, Prometheus
from omgml.components.prometheus.model import PrometheusArgs, ScrapeTarget

__all__ = ["TYPE_TOKEN", "Prometheus", "PrometheusArgs", "ScrapeTarget"]
