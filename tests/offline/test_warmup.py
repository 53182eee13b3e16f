"""The warm-up imports what a program will load, lazily imported SDK submodules included."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from offline.warmup import _attribute_chains, _imported_names, warm_up

# A package that registers its submodule lazily, as the Pulumi provider SDKs do.
LAZY_PACKAGE = """
import importlib.util, sys
spec = importlib.util.find_spec(__name__ + ".sub")
spec.loader = importlib.util.LazyLoader(spec.loader)
sub = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = sub
spec.loader.exec_module(sub)
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A project whose program reaches a lazy submodule only inside a function."""
    lib = tmp_path / "site-packages"
    root = tmp_path / "project"
    (lib / "warmlazy").mkdir(parents=True)
    (lib / "warmlazy" / "__init__.py").write_text(LAZY_PACKAGE)
    (lib / "warmlazy" / "sub.py").write_text("VALUE = 42\n")
    (root / "warmapp").mkdir(parents=True)
    (root / "__main__.py").write_text("import warmapp.build\nwarmapp.build.run()\n")
    (root / "warmapp" / "__init__.py").write_text("")
    (root / "warmapp" / "build.py").write_text(
        "def run():\n    from . import later\n    return later.value()\n"
    )
    (root / "warmapp" / "later.py").write_text(
        "import warmlazy as wl\n\ndef value():\n    return wl.sub.VALUE\n"
    )
    (root / "warmapp" / "broken.py").write_text("raise RuntimeError('not importable')\n")
    sys.path.insert(0, str(lib))
    names = ("warmlazy", "warmlazy.sub", "warmapp", "warmapp.build", "warmapp.later")
    try:
        yield root
    finally:
        sys.path.remove(str(lib))
        for name in names:
            sys.modules.pop(name, None)


def _loaded(module: ModuleType) -> bool:
    # A lazy module not loaded yet is still of the loader's placeholder type.
    return type(module) is ModuleType


def test_warm_up_loads_the_lazy_submodules_the_program_reaches(project: Path) -> None:
    assert warm_up(project) > 0
    # Imported inside a function of a module the program imports...
    assert "warmapp.later" in sys.modules
    # ...and the lazy submodule it reaches by attribute is loaded, not just registered.
    assert _loaded(sys.modules["warmlazy.sub"])
    assert sys.modules["warmlazy.sub"].VALUE == 42


def test_a_lazy_submodule_nobody_reaches_stays_unloaded(project: Path) -> None:
    (project / "warmapp" / "later.py").write_text("import warmlazy as wl\n")
    warm_up(project)
    assert not _loaded(sys.modules["warmlazy.sub"])


def test_a_module_that_fails_to_import_is_left_for_the_run(project: Path) -> None:
    (project / "warmapp" / "build.py").write_text("from . import broken\n")
    warm_up(project)
    assert "warmapp.broken" not in sys.modules


def test_imported_names_are_absolute_at_any_depth(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "import a.b\nfrom .c import d\nfrom .. import e\ndef f():\n    from x import y as z\n"
    )
    names = set(_imported_names(source, "pkg.sub"))
    assert names == {"a.b", "pkg.sub.c", "pkg.sub.c.d", "pkg", "pkg.e", "x", "x.y"}


def test_attribute_chains_are_the_outermost_ones() -> None:
    tree = ast.parse("aws.ec2.Vpc('v', cidr=k8s.core.v1.Service)\nx = obj.attr")
    chains = sorted(_attribute_chains(tree))
    assert chains == [["aws", "ec2", "Vpc"], ["k8s", "core", "v1", "Service"], ["obj", "attr"]]
