"""The CI templates of docs/ci.md (docs/ci/github-actions.yml, docs/ci/gitlab-ci.yml): valid
YAML, every ``scons`` command in them uses verbs and options polyboard knows (as ``scons -h``
lists them), and the shards they fan out are the ones ``scons ... ci-matrix`` prints.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from helpers import REPO, copy_tree, run_scons

GITHUB = REPO / "docs" / "ci" / "github-actions.yml"
GITLAB = REPO / "docs" / "ci" / "gitlab-ci.yml"
# A scons command inside a shell line: its arguments end where the shell's command does.
SCONS_COMMAND = re.compile(r"(?:^|[\s(])(?:\S*/)?scons(?P<args>(?:[ \t]+[^\s)|;&>]+)*)")


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def shell_lines(path: Path) -> list[str]:
    """Every shell line of the file: GitHub's ``run:`` steps, GitLab's ``script`` lists."""
    document, lines = load(path), []
    for job in document.values():
        if isinstance(job, dict):
            for part in ("before_script", "script", "after_script"):
                lines += job.get(part, [])
    for job in (document.get("jobs") or {}).values():
        for step in job.get("steps", []):
            if "run" in step:
                lines += step["run"].splitlines()
    return [line for line in lines if line.strip()]


def scons_commands(path: Path) -> list[list[str]]:
    return [shlex.split(match["args"]) for line in shell_lines(path) for match in SCONS_COMMAND.finditer(line)]


@pytest.fixture(scope="module")
def ci_tree(tmp_path_factory) -> Path:
    return copy_tree(tmp_path_factory.mktemp("ci") / "tree")


@pytest.fixture(scope="module")
def cli(ci_tree) -> dict[str, set[str]]:
    """What the command line knows, from ``scons -h`` of the reference tree: verbs, options, boards."""
    result = run_scons(ci_tree, "-Q", "-h", timeout=120)
    assert result.returncode == 0, result.output
    sections: dict[str, set[str]] = {}
    current = None
    for line in result.stdout.splitlines():
        if line and not line.startswith(" "):
            current = line.split(" (")[0].rstrip(":")
            sections[current] = set()
        elif current and line.startswith("  ") and line.strip():
            sections[current].add(line.split()[0])
    return {"verbs": sections["Verbs"], "options": sections["Options"], "boards": sections["Boards"]}


def ci_matrix(tree: Path, *args: str) -> dict:
    """The JSON of a ci-matrix command: its whole standard output (what the workflow captures)."""
    result = run_scons(tree, *args, timeout=120)
    assert result.returncode == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("path", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_every_scons_command_uses_known_verbs_and_options(cli, path):
    commands = scons_commands(path)
    assert len(commands) >= 3, commands
    problems = []
    for argv in commands:
        for arg in argv:
            if arg.startswith("-"):
                continue  # SCons's own flags: -Q, -j4
            name, equals, value = arg.partition("=")
            if equals:
                if name not in cli["options"]:
                    problems.append(f"{argv}: unknown option {name}=")
                if name == "board" and value not in cli["boards"] | {"all"}:
                    problems.append(f"{argv}: unknown board {value}")
            elif arg not in cli["verbs"]:
                problems.append(f"{argv}: unknown verb {arg}")
    assert not problems, "\n".join(problems)
    # Every build fans out over the shards, with the remote cache read-only for untrusted changes.
    builds = [argv for argv in commands if "ci-matrix" not in argv and "list" not in argv]
    assert builds and all(any(a.startswith("shard=") for a in argv) for argv in builds), builds
    assert all("remote_cache_upload=$UPLOAD" in argv for argv in builds), builds


def test_the_github_matrix_is_what_ci_matrix_prints(cli, ci_tree):
    workflow = load(GITHUB)
    plan = [argv for argv in scons_commands(GITHUB) if "ci-matrix" in argv]
    assert len(plan) == 1, plan
    matrix = ci_matrix(ci_tree, *plan[0])
    shards = [entry["shard"] for entry in matrix["include"]]
    assert shards == ["1/4", "2/4", "3/4", "4/4"], matrix
    boards = [b for entry in matrix["include"] for b in entry["boards"].split(",")]
    assert sorted(boards) == sorted(cli["boards"]), matrix  # every board once
    build = workflow["jobs"]["build"]
    assert build["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert build["needs"] == "plan" and build["env"]["SHARD"] == "${{ matrix.shard }}"
    assert "pull_request" in build["env"]["UPLOAD"] and "'0'" in build["env"]["UPLOAD"]
    assert "ci-matrix" in workflow["jobs"]["plan"]["steps"][-1]["run"]
    # The same fan-out as shard= of a runner (one runner: every list run configures every board).
    for entry in matrix["include"][1:2]:
        listed = run_scons(ci_tree, "-Q", "board=all", f"shard={entry['shard']}", "list",
                           timeout=120)
        ids = [line for line in listed.stdout.splitlines() if line and not line.startswith("polyboard: ")]
        assert ids == entry["boards"].split(","), listed.output  # (skip notices aside)


def test_the_gitlab_fan_out_is_what_ci_matrix_prints(ci_tree):
    job = load(GITLAB)["firmware"]
    matrix = ci_matrix(ci_tree, "-Q", "board=all", f"shards={job['parallel']}", "ci-matrix")
    assert len(matrix["include"]) == job["parallel"] == 4
    assert 'SHARD="$CI_NODE_INDEX/$CI_NODE_TOTAL"' in job["before_script"]
    assert any("merge_request_event" in line and "UPLOAD=0" in line for line in job["before_script"])


def test_ci_md_quotes_both_files_as_they_are():
    text = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    for path in (GITHUB, GITLAB):
        assert path.read_text(encoding="utf-8").strip() in text, f"docs/ci.md does not quote {path.name} as it is"
