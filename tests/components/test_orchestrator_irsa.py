"""The S3 contract both orchestrators keep on AWS (IRSA), tested once for Airflow and Prefect:
the role ARNs name exactly the components' S3 consumers, IRSA needs AWS S3 (not an in-cluster
endpoint), and on IRSA each consumer's ServiceAccount wears its role while no other account does
— without changing which accounts get a Kubernetes API token (the ones that start pods keep it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from omgml.components import airflow, prefect
from tests.components import manifest_checks, test_airflow, test_prefect
from tests.components.orchestration_wiring import ORCH
from tests.synth_helpers import assert_valid


@dataclass(frozen=True)
class Orchestrator:
    component: ModuleType  # resolve, s3_consumers, ACCOUNTS
    tests: ModuleType  # args(), on_s3(), ARNS: how its own tests wire it
    owner: str  # the Args class errors name
    other_account: str  # an account of the orchestrator that is not an S3 consumer
    api_token: dict[str, bool]  # account → automountServiceAccountToken on IRSA

    @property
    def app(self) -> str:
        return str(self.component.APP)

    @property
    def arns(self) -> dict[str, str]:
        return dict(self.tests.ARNS)


ORCHESTRATORS = [
    # Airflow's scheduler starts task pods through the API; the task pods (worker) do not.
    Orchestrator(airflow, test_airflow, "AirflowArgs", "airflow-scheduler",
                 {"airflow-scheduler": True, "airflow-worker": False}),
    # Prefect's worker creates flow-run Jobs through the API; the flow runs do not.
    Orchestrator(prefect, test_prefect, "PrefectArgs", "prefect-worker",
                 {"prefect-worker": True, "prefect-flow-run": False}),
]
IDS = [o.owner for o in ORCHESTRATORS]


@pytest.mark.parametrize("o", ORCHESTRATORS, ids=IDS)
def test_on_irsa_each_consumer_account_wears_its_role_and_no_other_does(o: Orchestrator) -> None:
    items = o.tests.on_s3()
    assert_valid(items)
    roles = {c.service_account: o.arns[c.name] for c in o.component.s3_consumers(ORCH, o.app, "pipelines")}
    accounts = manifest_checks.assert_irsa_roles(items, ORCH, roles)
    assert set(accounts) == {f"{o.app}-{who}" for who in o.component.ACCOUNTS}
    assert {a: accounts[a]["automountServiceAccountToken"] for a in o.api_token} == o.api_token


def _arn_cases() -> list[Any]:
    cases = []
    for o in ORCHESTRATORS:
        last = sorted(o.arns)[-1]
        role = "arn:aws:iam::1:role/x"
        cases += [pytest.param(o, {k: v for k, v in o.arns.items() if k != last}, f"missing [{last!r}]",
                               id=f"{o.owner}-missing"),
                  pytest.param(o, {**o.arns, o.other_account: role}, f"unknown [{o.other_account!r}]",
                               id=f"{o.owner}-not-a-consumer"),
                  pytest.param(o, {f"{o.app}-flows": role}, f"unknown ['{o.app}-flows']", id=f"{o.owner}-misnamed")]
    return cases


@pytest.mark.parametrize(("o", "arns", "named"), _arn_cases())
def test_irsa_role_arns_must_name_exactly_the_consumers(o: Orchestrator, arns: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{o.owner}.irsa_role_arns")) as err:
        o.component.resolve(o.tests.args(store=o.tests.S3, irsa_role_arns=arns))
    assert named in str(err.value) and sorted(o.arns)[0] in str(err.value)


@pytest.mark.parametrize("o", ORCHESTRATORS, ids=IDS)
def test_irsa_refuses_an_in_cluster_endpoint(o: Orchestrator) -> None:
    with pytest.raises(ValueError, match=rf"{o.owner}\.irsa_role_arns: IRSA reaches AWS S3 only"):
        o.component.resolve(o.tests.args(irsa_role_arns=o.arns))
