"""The GitHub Actions workflow `omgml init` writes into a project (.github/workflows/omgml.yml).

On every pull request it runs `omgml check`, renders the platform at the base and the head
revision, and posts one comment with the check result and capacity summary, the diff (data risks
first) and the cost change; the check's verdict decides the job's status. On target aws, when the
repository has cloud access configured (variable AWS_ROLE_ARN), a second job previews the phases
in order with `omgml preview --phase all --diff`: a later phase reads its upstream stacks' outputs,
so previews can't run side by side, and on a new platform (no foundation stack yet) the later
phases are skipped with the reason instead of failing; the render diff above covers them.

Pure: `ci_workflow(spec, pip_spec)` returns the YAML text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from omgml.spec import PlatformSpec

WORKFLOW_PATH = ".github/workflows/omgml.yml"
COMMENT_MARKER = "<!-- omgml-guardrails -->"
# Major versions current when this was written (Node 24 runners); pin commit SHAs if your
# organisation requires it.
ACTIONS = {
    "checkout": "actions/checkout@v5",
    "python": "actions/setup-python@v6",
    "script": "actions/github-script@v8",
    "aws": "aws-actions/configure-aws-credentials@v5",
    "pulumi": "pulumi/actions@v6",
}
PULUMI_CLI_VERSION = "3.272.0"  # the CLI in step with the pulumi SDK omgml pins

_VENV_SETUP = """\
python -m venv .venv
.venv/bin/pip install --upgrade pip
.venv/bin/pip install -r requirements.txt "$OMGML_PIP_SPEC"
"""

_GUARDRAILS = """\
set +e
out="$RUNNER_TEMP/omgml"
mkdir -p "$out"
.venv/bin/omgml check . --output markdown > "$out/check.md"
echo "status=$?" >> "$GITHUB_OUTPUT"
if git cat-file -e "$BASE_SHA:./omgml.yaml" 2>/dev/null; then
  .venv/bin/omgml diff "$BASE_SHA" . --project . --output markdown > "$out/diff.md" \\
    || echo "**omgml diff** could not render the base revision's omgml.yaml." > "$out/diff.md"
  git show "$BASE_SHA:./omgml.yaml" > "$out/base-omgml.yaml"
  .venv/bin/omgml cost . --baseline "$out/base-omgml.yaml" --output markdown > "$out/cost.md" \\
    || .venv/bin/omgml cost . --output markdown > "$out/cost.md"
else
  echo "**omgml diff**: the base revision has no omgml.yaml (a new platform)." > "$out/diff.md"
  .venv/bin/omgml cost . --output markdown > "$out/cost.md"
fi
{ cat "$out/check.md"; echo; cat "$out/diff.md"; echo; cat "$out/cost.md"; } > "$out/comment.md"
cat "$out/comment.md" >> "$GITHUB_STEP_SUMMARY"
exit 0
"""

_COMMENT = """\
const fs = require('fs');
const marker = '@MARKER@';
const body = marker + '\\n' + fs.readFileSync(process.env.RUNNER_TEMP + '/omgml/comment.md', 'utf8');
const { owner, repo } = context.repo;
const issue_number = context.issue.number;
const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number });
const previous = comments.find((c) => c.body && c.body.startsWith(marker));
if (previous) {
  await github.rest.issues.updateComment({ owner, repo, comment_id: previous.id, body });
} else {
  await github.rest.issues.createComment({ owner, repo, issue_number, body });
}
""".replace("@MARKER@", COMMENT_MARKER)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks, so the scripts read as scripts."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _setup_steps(python: str = "3.11") -> list[dict[str, Any]]:
    return [
        {"uses": ACTIONS["checkout"], "with": {"fetch-depth": 0}},  # the base revision's omgml.yaml
        {"uses": ACTIONS["python"], "with": {"python-version": python}},
        {"name": "Install omgml and the program's packages", "run": _VENV_SETUP},
    ]


def ci_workflow(spec: PlatformSpec, pip_spec: str) -> str:
    """The workflow for a project of `spec`; `pip_spec` is how pip installs omgml (omgml.yaml's
    omgml.pip_spec, e.g. "omgml[validate]==0.1.0"; a repository variable OMGML_PIP_SPEC overrides it)."""
    if "'" in pip_spec or "\n" in pip_spec:
        raise ValueError(f"pip_spec {pip_spec!r}: quotes and newlines cannot go into the workflow")
    env = {"OMGML_PIP_SPEC": "${{ vars.OMGML_PIP_SPEC || '" + pip_spec + "' }}"}
    guardrails: dict[str, Any] = {
        "name": "check, diff, cost",
        "runs-on": "ubuntu-latest",
        "permissions": {"contents": "read", "pull-requests": "write"},
        "env": env,
        "steps": [
            *_setup_steps(),
            {"name": "Check, diff and cost against the base branch", "id": "guardrails",
             "env": {"BASE_SHA": "${{ github.event.pull_request.base.sha }}"}, "run": _GUARDRAILS},
            # Pull requests from forks get a read-only token: the summary above still has it all.
            {"name": "Comment on the pull request", "uses": ACTIONS["script"], "continue-on-error": True,
             "with": {"script": _COMMENT}},
            {"name": "Fail when omgml check failed", "if": "steps.guardrails.outputs.status != '0'",
             "run": "echo 'omgml check found errors; see the pull request comment or the job summary'; exit 1"},
        ],
    }
    jobs: dict[str, Any] = {"guardrails": guardrails}
    if spec.target == "aws":
        jobs["preview"] = {
            "name": "pulumi preview (phases in order)",
            "needs": "guardrails",
            # Only where cloud access is configured: an OIDC role for AWS and a Pulumi backend.
            "if": "${{ vars.AWS_ROLE_ARN != '' }}",
            "runs-on": "ubuntu-latest",
            "permissions": {"contents": "read", "id-token": "write"},
            "env": {**env, "PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}",
                    "PULUMI_BACKEND_URL": "${{ vars.PULUMI_BACKEND_URL }}",
                    "PULUMI_CONFIG_PASSPHRASE": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"},
            "steps": [
                *_setup_steps(),
                {"name": "Install the Pulumi CLI", "uses": ACTIONS["pulumi"],
                 "with": {"pulumi-version": PULUMI_CLI_VERSION}},
                {"uses": ACTIONS["aws"],
                 "with": {"role-to-assume": "${{ vars.AWS_ROLE_ARN }}", "aws-region": spec.aws.region}},
                # One run, phases in order (foundation → training → serving); omgml skips a phase whose
                # upstream stack is not deployed yet and says so.
                {"name": "Preview the phases", "run": ".venv/bin/omgml preview . --phase all --diff"},
            ],
        }
    workflow = {
        "name": f"omgml guardrails ({spec.name})",
        "on": {"pull_request": {}},
        "concurrency": {"group": "omgml-${{ github.event.pull_request.number }}", "cancel-in-progress": True},
        "jobs": jobs,
    }
    header = (
        "# Written by `omgml init`. On each pull request: omgml check (schema, policies, capacity),\n"
        "# the render diff against the base branch and the cost change, as one comment.\n"
        "# omgml is installed with omgml.yaml's omgml.pip_spec (`omgml sync` rewrites this file after you\n"
        "# change it); a repository variable OMGML_PIP_SPEC overrides it. On target aws, repository\n"
        "# variables AWS_ROLE_ARN + PULUMI_BACKEND_URL (or secret PULUMI_ACCESS_TOKEN) and secret\n"
        "# PULUMI_CONFIG_PASSPHRASE enable the ordered `pulumi preview --diff` of the phases.\n"
    )
    return header + yaml.dump(workflow, Dumper=_Dumper, sort_keys=False, width=1000)
