"""The API documentation site builds with warnings as errors and documents every public name.

``mkdocs build --strict`` (mkdocs-material + mkdocstrings-python, numpydoc docstrings; the
configuration is ``mkdocs.yml``) into a temporary directory: a docstring that griffe cannot
parse, a broken link or a page missing from the navigation fails the build. Then every name in
the ``__all__`` of each documented module must have its anchor on the site, so a public
function added without being rendered fails too. Skipped (with the reason) only when the docs
tools (``pip install -e ".[docs]"``) are not installed.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Documented modules; each page renders the members its ``__all__`` lists.
DOCUMENTED = [
    "lingauss",
    "lingauss.gaussian",
    "lingauss.loss",
    "lingauss.blahut_arimoto",
    "lingauss.scenarios",
    "lingauss.metrics",
    "lingauss.decomposition",
    "lingauss.rate_distortion",
    "lingauss.protocol",
    "lingauss.slides_hypothesis",
    "lingauss.study",
    "lingauss.plots",
    "lingauss.symbolic",
    "lingauss.validation",
    "lingauss.strategies",
    "neural",
]


def _needs(module: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        pytest.skip(f"the docs tools are not installed ({module}: {exc}); pip install -e '.[docs]'")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        _needs(module)
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return out


def test_docs_build_strict(site):
    assert (site / "index.html").is_file()
    assert (site / "api" / "gaussian" / "index.html").is_file()


def test_every_public_name_is_documented(site):
    anchors = set()
    for page in site.rglob("*.html"):
        anchors.update(re.findall(r'id="((?:lingauss|neural)\.[\w.]+)"', page.read_text("utf-8")))
    missing = []
    for name in DOCUMENTED:
        module = importlib.import_module(name)
        for member in module.__all__:
            if isinstance(getattr(module, member), types.ModuleType):
                continue  # a subpackage, documented by its own page
            # rendered where it is documented: the module itself or one of its submodules
            if not any(a.startswith(name + ".") and a.endswith("." + member) for a in anchors):
                missing.append(f"{name}.{member}")
    assert not missing, f"public names without a documentation anchor: {missing}"


def test_formulas_reach_the_page(site):
    # a docstring formula is rendered, not just the signature
    page = (site / "api" / "gaussian" / "index.html").read_text("utf-8")
    assert "log|C_aa| + log|C_bb|" in page
    page = (site / "api" / "metrics" / "index.html").read_text("utf-8")
    assert 'id="lingauss.metrics.im.im_score"' in page
