"""The pinned requirements, environment.yml and configuration agree and stay portable."""

import re

from conftest import ROOT


def pinned(lines):
    return sorted(line.strip() for line in lines if re.match(r"^\s*-?\s*[A-Za-z0-9_.-]+==", line))


def test_every_requirement_is_pinned_exactly():
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert lines, "requirements.txt lists no packages"
    assert all("==" in line for line in lines), f"unpinned lines: {[line for line in lines if '==' not in line]}"


def test_environment_yml_installs_the_same_pins_as_requirements():
    requirements = pinned((ROOT / "requirements.txt").read_text().splitlines())
    environment = (ROOT / "environment.yml").read_text().splitlines()
    yml_pins = sorted(line.strip().lstrip("-").strip() for line in environment
                      if re.match(r"^\s+-\s+[A-Za-z0-9_.-]+==", line))
    assert yml_pins == [line.strip() for line in requirements], (
        "environment.yml and requirements.txt differ: run `make environment.yml` to regenerate it")


def test_environment_yml_names_an_exact_python_for_binder():
    assert re.search(r"^\s+-\s+python=3\.\d+\s*$", (ROOT / "environment.yml").read_text(), re.M)


def test_configuration_has_no_absolute_paths():
    for name in ["nbgrader_config.py", "Makefile", "environment.yml", "pyproject.toml"]:
        text = (ROOT / name).read_text()
        assert not re.search(r"[\"'= ](/home|/work|/root|/tmp|/Users|[A-Z]:\\)", text), f"{name} holds an absolute path"
