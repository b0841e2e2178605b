"""The documentation: the MkDocs site builds in strict mode (a broken link, anchor or page,
or a reference table that cannot be generated, fails), its generated reference covers the
code, and the README's relative links point at files and anchors that exist."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # Material's notice about MkDocs 2.0
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                             "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
                            cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def _page(site: Path, doc: str) -> str:
    """The built HTML of docs/``doc`` (directory URLs: a.md -> a/index.html)."""
    stem = doc.removesuffix(".md")
    path = site / ("index.html" if stem == "index" else
                   stem.removesuffix("/index") + "/index.html")
    return path.read_text(encoding="utf-8")


def _keys(data: dict, prefix: str = "") -> list[str]:
    """Dotted keys of a resolved config; the entries of mapping-valued settings (search
    spaces) are names the user chooses, so only the setting itself is listed."""
    keys = []
    for key, value in data.items():
        dotted = prefix + key
        if isinstance(value, dict) and dotted != "search.families":
            keys += _keys(value, dotted + ".")
        else:
            keys.append(dotted)
    return keys


def test_every_page_is_built_and_nothing_is_fetched_from_the_network(site):
    for doc in (ROOT / "docs").rglob("*.md"):
        html = _page(site, doc.relative_to(ROOT / "docs").as_posix())
        assert "<h1" in html, doc
        assert not re.search(r'<(link|script|img)[^>]+(href|src)="https?://', html), doc


def test_the_settings_reference_lists_every_key_of_the_config(site):
    from greennlp.config import RunConfig, to_dict

    html = _page(site, "settings.md")
    missing = [k for k in _keys(to_dict(RunConfig())) if f"<code>{k}</code>" not in html]
    assert not missing, f"not in the settings reference: {missing}"
    # each field's doc is shown beside its key
    assert "a .txt file (unlabelled text, see data.documents), or hf:NAME" in html


def test_the_command_reference_lists_every_command(site):
    import typer

    from greennlp.cli import app

    html = _page(site, "commands.md")
    for name in typer.main.get_command(app).commands:
        assert f"<code>greennlp {name}</code>" in html, name


def test_the_family_table_and_the_layers_are_generated(site):
    from greennlp.models import FAMILIES

    families = _page(site, "models.md")
    assert all(f"<code>{name}</code>" in families for name in FAMILIES)
    assert "<code>greennlp.errors</code>" in _page(site, "design.md")


def test_the_readme_links_point_at_files_and_anchors_that_exist(site):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", readme)
    relative = [link for link in links if not re.match(r"[a-z]+:", link)]
    assert len(relative) >= 10  # the README points into the documentation
    for link in relative:
        path, _, anchor = link.partition("#")
        assert (ROOT / path).exists(), f"README links to {link}, which does not exist"
        if anchor:
            assert path.startswith("docs/") and path.endswith(".md"), link
            html = _page(site, path.removeprefix("docs/"))
            assert f'id="{anchor}"' in html, f"README links to {link}: no such anchor"


def test_the_readme_starts_with_the_two_commands_that_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    run, tests = blocks[0], blocks[1]
    assert run.endswith(".venv/bin/greennlp run") and tests.endswith(".venv/bin/python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").rstrip()
    assert ci.endswith(tests.split("&& ")[-1])  # CI runs exactly the README's test command
    assert len(readme.splitlines()) <= 160  # a front door; the rest is in docs/
