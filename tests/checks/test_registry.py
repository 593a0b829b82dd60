"""Every registered check is documented the same way: a policy clause, the four docstring sections
the reports show to heads, settings with help lines, and a row in the README's checks table."""

from __future__ import annotations

import re

import pytest

from checks._base import DOC_HEADINGS, CheckSpec, registry
from tests.conftest import ROOT

SPECS = registry()


def test_the_checks_the_issue_names_are_registered():
    assert {"post_frequency", "handle_format", "event_promotion", "named_children", "external_links",
            "comments"} <= set(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_docstring_section_is_present_and_stops_at_the_next(name: str):
    spec = SPECS[name]
    assert re.fullmatch(r"4\.[1-4]", spec.policy)
    for heading in DOC_HEADINGS:
        section = spec.doc_section(heading)
        assert section, f"{name}: no '{heading}' section"
        for other in DOC_HEADINGS:
            assert f"{other}:" not in section.lower(), f"{name}: '{heading}' runs into '{other}'"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_setting_has_a_help_line_and_each_check_a_readme_row(name: str):
    spec = SPECS[name]
    for setting, declared in spec.settings.items():
        assert declared.help.strip(), f"{name}.{setting} has no help"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"^\| {name} \| {re.escape(spec.policy)} \|", readme, re.MULTILINE)


def test_a_section_ends_at_a_blank_line_or_the_next_heading():
    doc = ("Title (policy 4.9).\n\nWhat it checks: one thing,\n  over two lines.\nExample: a -> b\n"
           "  and c.\nHow to fix: do d.\n\nMore prose: not a section.\n")
    spec = CheckSpec(name="t", policy="4.9", fn=lambda *a: None, settings={}, doc=doc)  # type: ignore[arg-type,return-value]
    assert spec.doc_section("What it checks") == "one thing, over two lines."
    assert spec.doc_section("Example") == "a -> b and c."
    assert spec.doc_section("How to fix") == "do d."
    assert spec.doc_section("Why it matters") == ""


def test_how_to_fix_speaks_to_a_head_not_to_an_administrator():
    """The reports show each check's "How to fix" to heads: no file, setting or field names."""
    from checks._base import registry

    for spec in registry().values():
        advice = spec.doc_section("How to fix")
        assert advice, spec.name
        for word in ("config", ".yaml", "expected_handle", "setting "):
            assert word not in advice, (spec.name, word)


def test_the_checks_reference_is_generated_from_the_checks():
    """docs/checks.md's summary comes from each check's docstring and settings; `make docs` rewrites it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("checks_doc", ROOT / "scripts" / "checks_doc.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    assert module.updated(text) == text, "docs/checks.md is out of date: run `make docs`"
    for name in SPECS:
        assert f"(`{name}`, policy " in text
