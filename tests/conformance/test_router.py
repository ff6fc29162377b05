"""The A/B router on its real binary: the rendered haproxy.cfg and env routing real traffic.

The variants of an experiment are Triton servers, which cannot run here (an NGC image only), so
two stand-in HTTP servers answer in their place, under the variants' Service names; a third
stands in for the model server. Debian 12's HAProxy 2.6.12 runs the router's rendered command,
config file and weight env unchanged (the image pins 2.6.31, the same LTS branch: bug fixes
only between them). Everything runs in a network namespace this test creates (only `lo`), with
`ip netns exec`'s /etc/netns/<ns>/hosts naming the Services, so nothing touches the host.

Asserted: 2,000 requests split in the weights' proportion (±5 points), a sticky header keeps
each caller on one variant, other models reach the model server, HAProxy's own metrics count
each variant's requests exactly, a variant that goes down loses its traffic to the other, and
the rendered alert rules fire for a degrading variant only (promtool test rules, when the
tier's Prometheus is installed).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from omgml.components.router import HTTP_PORT, METRICS_PORT
from omgml.spec import spec_from_dict
from omgml.synth.render import render_platform

pytestmark = pytest.mark.conformance

WEIGHTS = {3: 80, 4: 20}
EXPERIMENT = {"model": "fraud", "variants": [{"version": v, "weight": w} for v, w in WEIGHTS.items()],
              "sticky_header": "X-User-Id"}
# The stand-ins answer on the port the rendered backends name (Triton's HTTP port).
BACKEND_PORT = 8000
STAND_IN = r'''
import http.server, sys
name = sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def _answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = _answer
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], 8000), Handler).serve_forever()
'''


def _rendered() -> tuple[dict[str, Any], dict[str, str], str]:
    spec = spec_from_dict({"name": "abtest", "phases": {"serving": {"experiments": [EXPERIMENT]}}})
    serving = next(p.manifests for p in render_platform(spec).phases if p.phase == "serving")
    deployment = next(m for m in serving if m["kind"] == "Deployment" and m["metadata"]["name"] == "abtest-model-router")
    config = next(m for m in serving if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "abtest-model-router")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container.get("env", [])}
    return container, env, config["data"]["haproxy.cfg"]


def _in_ns(ns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


@pytest.fixture(scope="module")
def router() -> Iterator[dict[str, Any]]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("the router test needs root and iproute2 (network namespaces); run scripts/conformance.sh")
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        pytest.fail("haproxy is missing: scripts/conformance.sh installs Debian's haproxy package")
    container, env, config = _rendered()
    hosts = {name: host for name, host, _ in re.findall(r"^\s+server (\S+) ([a-z0-9.-]+):(\d+) check", config, re.M)}
    # Readable by HAProxy's uid (pytest's own temporary folders are root's alone).
    work = Path(tempfile.mkdtemp(prefix="omgml-router-"))
    work.chmod(0o755)
    ns = "omgab" + secrets.token_hex(3)
    etc = Path("/etc/netns") / ns
    procs: list[subprocess.Popen[bytes]] = []
    addresses = {name: f"127.0.0.{i + 2}" for i, name in enumerate(sorted(hosts))}
    try:
        subprocess.run(["ip", "netns", "add", ns], check=True)
        subprocess.run(_in_ns(ns, "ip", "link", "set", "lo", "up"), check=True)
        etc.mkdir(parents=True)
        (etc / "hosts").write_text("127.0.0.1 localhost\n" + "".join(
            f"{addresses[name]} {host}\n" for name, host in hosts.items()))
        script = work / "stand_in.py"
        script.write_text(STAND_IN)
        for name in sorted(hosts):
            procs.append(subprocess.Popen(_in_ns(ns, sys.executable, str(script), addresses[name], name),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # The rendered command, with the config where the rendered mount puts it.
        cfg_dir = work / "etc-haproxy"
        cfg_dir.mkdir()
        (cfg_dir / "haproxy.cfg").write_text(config)
        command = [haproxy if c == "haproxy" else c for c in container["command"]]
        command = [str(cfg_dir / "haproxy.cfg") if c.endswith("/haproxy.cfg") else c for c in command]
        log = (work / "haproxy.log").open("wb")
        procs.append(subprocess.Popen(_in_ns(ns, "setpriv", "--reuid=99", "--regid=99", "--clear-groups", *command),
                                      env={"PATH": "/usr/sbin:/usr/bin:/bin", **env}, stdout=log, stderr=log))
        state = {"ns": ns, "work": work, "env": env, "config": config, "hosts": hosts, "procs": procs}
        _wait_until(lambda: _up_backends(ns) >= len(hosts), 60, "every backend passes HAProxy's health check",
                    work / "haproxy.log")
        yield state
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(etc, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


CLIENT = r'''
import collections, json, sys, urllib.request
port, path, count, header = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
seen = collections.Counter()
per_user = {}
for i in range(count):
    headers = {header: f"user-{i // 3}"} if header else {}
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=b"{}", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            who = resp.read().decode()
    except urllib.error.HTTPError as err:
        who = f"http-{err.code}"
    seen[who] += 1
    if header:
        per_user.setdefault(f"user-{i // 3}", set()).add(who)
print(json.dumps({"seen": seen, "users": {u: sorted(v) for u, v in per_user.items()}}))
'''


def _client(state: dict[str, Any], path: str, count: int, header: str = "") -> dict[str, Any]:
    script = state["work"] / "client.py"
    script.write_text(CLIENT)
    out = subprocess.run(_in_ns(state["ns"], sys.executable, str(script), str(HTTP_PORT), path, str(count), header),
                         capture_output=True, text=True, timeout=600, check=True)
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return data


def _metrics(ns: str) -> str:
    out = subprocess.run(_in_ns(ns, "curl", "-sS", "--max-time", "5", f"http://127.0.0.1:{METRICS_PORT}/metrics"),
                         capture_output=True, text=True, timeout=30, check=False)
    return out.stdout


def _up_backends(ns: str) -> int:
    return len(re.findall(r'^haproxy_backend_active_servers\{proxy="[^"]+"\} 1$', _metrics(ns), re.M))


def _backend_metric(text: str, metric: str, proxy: str, code: str | None = None) -> float:
    labels = f'proxy="{proxy}"' + (f',code="{code}"' if code else "")
    m = re.search(rf"^{metric}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    assert m, f"{metric}{{{labels}}} is not in HAProxy's metrics"
    return float(m.group(1))


def _wait_until(check: Any, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1)
    raise AssertionError(f"{what} did not happen within {timeout:.0f}s; HAProxy's log:\n"
                         f"{log.read_text(errors='replace')[-3000:]}")


def test_the_router_runs_the_rendered_config_on_the_real_binary(router: dict[str, Any]) -> None:
    version = subprocess.run(["haproxy", "-v"], capture_output=True, text=True, check=True).stdout
    assert "version 2.6." in version  # the image's branch (haproxy:2.6.31)
    check = subprocess.run(_in_ns(router["ns"], "haproxy", "-c", "-f", str(router["work"] / "etc-haproxy" / "haproxy.cfg")),
                           env={"PATH": "/usr/sbin:/usr/bin:/bin", **router["env"]}, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "[WARNING]" not in check.stdout + check.stderr, check.stdout + check.stderr


def test_requests_split_in_the_weights_proportion(router: dict[str, Any]) -> None:
    before = _metrics(router["ns"])
    seen = _client(router, "/v2/models/fraud/infer", 2000)["seen"]
    assert sum(seen.values()) == 2000 and set(seen) == {"v3", "v4"}, seen
    for version, weight in WEIGHTS.items():
        share = 100 * seen[f"v{version}"] / 2000
        assert abs(share - weight) <= 5, f"variant v{version}: {share:.1f} % of 2000 requests, weight {weight} %"
    # HAProxy's own per-variant counters saw exactly the same requests.
    after = _metrics(router["ns"])
    for version in WEIGHTS:
        proxy = f"ab_fraud_v{version}"
        counted = (_backend_metric(after, "haproxy_backend_http_responses_total", proxy, "2xx")
                   - _backend_metric(before, "haproxy_backend_http_responses_total", proxy, "2xx"))
        assert counted == seen[f"v{version}"], (proxy, counted, seen)


def test_a_sticky_header_keeps_each_caller_on_one_variant(router: dict[str, Any]) -> None:
    data = _client(router, "/v2/models/fraud/infer", 900, header="X-User-Id")
    users = data["users"]
    assert len(users) == 300
    assert all(len(variants) == 1 for variants in users.values()), \
        {u: v for u, v in users.items() if len(v) > 1}
    share = 100 * sum(1 for v in users.values() if v == ["v3"]) / len(users)
    assert abs(share - WEIGHTS[3]) <= 10, f"{share:.0f} % of callers on v3, weight {WEIGHTS[3]} %"


def test_other_models_reach_the_model_server(router: dict[str, Any]) -> None:
    seen = _client(router, "/v2/models/churn/infer", 20)["seen"]
    assert seen == {"server": 20}, seen


def test_a_variant_that_goes_down_loses_its_traffic_to_the_other(router: dict[str, Any]) -> None:
    stand_ins = router["procs"][:len(router["hosts"])]
    down = sorted(router["hosts"]).index("v4")
    stand_ins[down].terminate()
    stand_ins[down].wait(timeout=10)
    _wait_until(lambda: _up_backends(router["ns"]) == len(router["hosts"]) - 1, 60,
                "HAProxy marks v4 down", router["work"] / "haproxy.log")
    seen = _client(router, "/v2/models/fraud/infer", 200)["seen"]
    assert seen == {"v3": 200}, seen


ALERT_TEST = """
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # v3 answers every request in 20 ms; v4 fails 10 % of its requests and needs 200 ms.
      - series: 'haproxy_backend_http_responses_total{namespace="ns",proxy="ab_fraud_v3",code="2xx"}'
        values: '0+600x30'
      - series: 'haproxy_backend_http_responses_total{namespace="ns",proxy="ab_fraud_v3",code="5xx"}'
        values: '0+0x30'
      - series: 'haproxy_backend_http_responses_total{namespace="ns",proxy="ab_fraud_v4",code="2xx"}'
        values: '0+540x30'
      - series: 'haproxy_backend_http_responses_total{namespace="ns",proxy="ab_fraud_v4",code="5xx"}'
        values: '0+60x30'
      - series: 'haproxy_backend_http_requests_total{namespace="ns",proxy="ab_fraud_v3"}'
        values: '0+600x30'
      - series: 'haproxy_backend_http_requests_total{namespace="ns",proxy="ab_fraud_v4"}'
        values: '0+600x30'
      - series: 'haproxy_backend_response_time_average_seconds{namespace="ns",proxy="ab_fraud_v3"}'
        values: '0.02x30'
      - series: 'haproxy_backend_response_time_average_seconds{namespace="ns",proxy="ab_fraud_v4"}'
        values: '0.2x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: ModelVariantErrors
        exp_alerts:
          - exp_labels: {severity: critical, namespace: ns, proxy: ab_fraud_v4}
      - eval_time: 20m
        alertname: ModelVariantSlower
        exp_alerts:
          - exp_labels: {severity: warning, namespace: ns, proxy: ab_fraud_v4, model: fraud}
"""


def test_the_alerts_fire_for_the_degrading_variant_only(tmp_path: Path) -> None:
    from tests.conformance.harness.software import Unavailable, locate

    promtool = locate("prometheus")
    if isinstance(promtool, Unavailable):
        pytest.skip(f"promtool: {promtool.reason}")
    from omgml.components.prometheus.rules import variant_alerts

    # The rendered expressions, durations and labels (annotations left out: promtool would
    # compare their text too, which is not what this test is about).
    rules = {"groups": [{"name": "variants", "rules": [
        {"alert": r.name, "expr": r.expr, "for": r.for_, "labels": {"severity": r.severity}}
        for r in variant_alerts()]}]}
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    (tmp_path / "test.yml").write_text(ALERT_TEST)
    out = subprocess.run([str(promtool.bins["promtool"]), "test", "rules", "test.yml"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
