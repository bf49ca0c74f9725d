"""mlsd.dask uses the families only through their public names and their stated internal modules
(``<family>._partials``), never ``_core`` or other private names.  (test_core_stub.py checks the
``_core`` stubs against the compiled module.)"""

import ast
import importlib
import pathlib

import pytest

import mlsd

DASK = pathlib.Path(mlsd.__file__).parent / "dask"
FAMILIES = ("metrics", "retrieval", "abtest", "hashing", "features", "monitoring")
# the contract's shared modules, which every family uses the same way (_interrupts: a thread's
# cancel probe, which mlsd.dask's tasks install on workers)
SHARED = {"_params", "_results", "_state", "_validation", "_interrupts"}
# the private handles mlsd.dask reached before the contract (issue 13), on whatever object: the
# compiled metrics module, ScoreTable's raw constructor and arrays, Index's compiled index and its
# serialisation and centring, retrieval's result wrapper
RETIRED = {"_k", "_of", "_arrays", "_index", "_wrap", "serialize", "set_l2_center"}


def _violations(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found, family_aliases, partials_aliases = [], set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".")
            if node.level == 1 or parts[:2] == ["mlsd", "dask"]:
                continue  # mlsd.dask's own modules
            mod = [p for p in parts if p and p != "mlsd"]
            if mod and mod[0] in SHARED:
                continue
            if mod[:1] == ["_core"] or any(a.name == "_core" for a in node.names):
                found.append(f"line {node.lineno}: imports _core")
                continue
            if len(mod) >= 2 and mod[1] != "_partials" and (mod[1].startswith("_") or mod[0] in FAMILIES):
                kind = "private module" if mod[1].startswith("_") else "submodule (not the family or its _partials)"
                found.append(f"line {node.lineno}: imports the {kind} {'.'.join(mod)}")
            if len(mod) == 2 and mod[1] == "_partials":
                continue
            for a in node.names:
                if a.name.startswith("_") and a.name != "_partials":
                    found.append(f"line {node.lineno}: imports the private name {a.name} from {'.'.join(mod) or '..'}")
                if a.name == "_partials" and len(mod) == 1:
                    partials_aliases.add(a.asname or a.name)
                if not mod and a.name in FAMILIES:
                    family_aliases.add(a.asname or a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("mlsd.") and any(p.startswith("_") and p != "_partials" and p not in SHARED
                                                      for p in a.name.split(".")[1:]):
                    found.append(f"line {node.lineno}: imports {a.name}")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        if (isinstance(node.value, ast.Name) and node.value.id in family_aliases | partials_aliases
                and node.attr.startswith("_") and node.attr != "_partials"):
            found.append(f"line {node.lineno}: uses {node.value.id}.{node.attr}")
        elif node.attr in RETIRED:
            found.append(f"line {node.lineno}: reaches the private handle .{node.attr}")
    return found


@pytest.mark.parametrize("path", sorted(DASK.glob("*.py")), ids=lambda p: p.name)
def test_dask_uses_only_public_names_and_partials(path):
    assert _violations(path) == []


def test_the_checker_finds_private_uses(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from .. import _core\nfrom .. import metrics as M\nfrom ..abtest._bootstrap import x\n"
                   "from ..metrics import _k\nM._binary_inputs(1)\nfrom ..metrics._partials import ok\n")
    found = _violations(bad)
    assert len(found) == 4, found
    worse = tmp_path / "worse.py"
    worse.write_text("from ..metrics import _partials as P\nP._k.roc_auc(1)\nfrom ..abtest.bootstrap import y\n"
                     "table._of(1)\nindex._index.set_l2_center(c)\nblob = index.serialize()\n"
                     "from ..abtest import _partials\n_partials.ok(1)\n")
    found = _violations(worse)
    assert len(found) == 6, found


@pytest.mark.parametrize("path", sorted(DASK.glob("*.py")), ids=lambda p: p.name)
def test_dask_checks_arguments_through_declarations(path):
    """mlsd.dask checks its arguments with the declared validator (``_params``), not the helpers of
    ``_validation`` (which the families use behind their own declarations)."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert "_validation" not in (node.module or "").split("."), f"{path.name} line {node.lineno}"
            assert all(a.name != "_validation" for a in node.names), f"{path.name} line {node.lineno}"


@pytest.mark.parametrize("family", FAMILIES)
def test_partials_modules_state_their_contract(family):
    try:
        partials = importlib.import_module(f"mlsd.{family}._partials")
    except ModuleNotFoundError:
        pytest.skip(f"mlsd.{family} has no internal API (mlsd.dask uses only its public names)")
    assert partials.__doc__ and len(partials.__doc__) > 200
    for name in getattr(partials, "__all__", []):
        assert name in partials.__doc__, f"{family}._partials does not document {name}"
