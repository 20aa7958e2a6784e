"""The README as a newcomer meets it: its parameter table lists every template parameter, and the commands it
prints run from a fresh clone (`make` targets or the venv's Python; a bare `python` is not the venv's)."""

import re

import pytest
from stack import ROOT, load_template

READMES = [ROOT / "README.md", ROOT / "pi" / "README.md"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _parameter_table_names() -> set[str]:
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| parameter | default | what it does |") :].split("\n\n", 1)[0]
    names = set()
    for row in table.splitlines()[2:]:
        first_cell = row.split("|")[1]
        names |= set(re.findall(r"`(\w+)`", first_cell))
        if "`MondayHours`..`SundayHours`" in first_cell:
            names |= {f"{day}Hours" for day in WEEKDAYS}
    return names


def test_the_parameter_table_lists_every_template_parameter_and_no_other():
    assert _parameter_table_names() == set(load_template()["Parameters"])


@pytest.mark.parametrize("readme", READMES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_command_needs_a_python_outside_the_venv(readme):
    bare = [
        line.strip()
        for line in readme.read_text().splitlines()
        if re.search(r"(?<![/\w.-])python3?\s+(-m\s|\S+\.py)", line)
    ]
    assert bare == []


@pytest.mark.parametrize("readme", READMES, ids=lambda path: str(path.relative_to(ROOT)))
def test_shell_blocks_run_the_sam_cli_make_setup_installed(readme):
    # `make setup` puts the pinned SAM CLI in .venv/bin; a bare `sam` is whatever else is on the PATH, if any.
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", readme.read_text(), flags=re.DOTALL)
    bare = [line for block in blocks for line in block.splitlines() if re.match(r"\s*(sam|python3?)\s", line)]
    assert bare == []
