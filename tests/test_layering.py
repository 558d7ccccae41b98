"""Imports run one way: no module of rnnzoo imports from a layer above its own.

Every import counts, those inside functions too (an import moved into a function to break a
cycle is still a cycle). The layers, bottom to top: the library half (kernels, cells, layers,
learning, models) knows nothing of the application half (tasks, config, experiment) above it.

    .venv/bin/python -m pytest -q -s tests/test_layering.py     # prints which layer uses which
"""
from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (layer, module prefixes), bottom to top; a module belongs to its longest matching prefix
LAYERS = [
    ("utils", ["rnnzoo.utils"]),
    ("errors", ["rnnzoo.errors"]),
    # the default kernels: the time loops the core cells run (rnnzoo.kernels: bptt_*, dense,
    # ops, native, gpu) and the step helpers they share with the cells
    ("kernels", ["rnnzoo.cells.steps", "rnnzoo.kernels"]),
    ("cells", ["rnnzoo.cells"]),
    ("layers", ["rnnzoo.layers", "rnnzoo.init", "rnnzoo"]),  # "rnnzoo": the package's front door
    ("learning", ["rnnzoo.learning"]),  # the teaching algorithms: truncated BPTT, RTRL, gradcheck
    ("models", ["rnnzoo.models"]),
    ("data", ["rnnzoo.data"]),
    ("baselines", ["rnnzoo.baselines"]),  # non-recurrent reference models (scikit-learn)
    ("tasks", ["rnnzoo.tasks"]),
    ("run parts", ["rnnzoo.callbacks", "rnnzoo.checkpoints"]),
    ("config", ["rnnzoo.config"]),
    ("experiment", ["rnnzoo.experiment"]),
    ("command line", ["rnnzoo.cli"]),
    ("tools", ["rnnzoo.analysis", "rnnzoo.bench"]),
]
LEVEL = {name: level for level, (name, _) in enumerate(LAYERS)}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def layer_of(module: str) -> str | None:
    """The layer of the longest prefix of ``module`` (the package root ``rnnzoo`` itself only)."""
    found = [(prefix, name) for name, prefixes in LAYERS for prefix in prefixes
             if module == prefix or (prefix != "rnnzoo" and module.startswith(prefix + "."))]
    return max(found, key=lambda p: len(p[0]))[1] if found else None


def imports_of(path: Path) -> set[str]:
    """The rnnzoo modules ``path`` imports, wherever the import statement is."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            for alias in node.names:  # ``from rnnzoo.kernels import native`` imports a module
                found.add(f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base)
    return {name for name in found if name == "rnnzoo" or name.startswith("rnnzoo.")}


def edges() -> list[tuple[str, str]]:
    return [(module_name(path), imported) for path in sorted((ROOT / "rnnzoo").rglob("*.py"))
            for imported in sorted(imports_of(path))]


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [f"{src} ({layer_of(src)}) imports {dst} ({layer_of(dst)})" for src, dst in edges()
              if LEVEL[layer_of(dst)] > LEVEL[layer_of(src)]]
    uses = Counter((layer_of(s), layer_of(d)) for s, d in edges() if layer_of(s) != layer_of(d))
    print("\nlayer          imports from (number of import statements' modules)")
    for name, _ in LAYERS:
        below = ", ".join(f"{d} {n}" for (s, d), n in sorted(uses.items(), key=lambda i: LEVEL[i[0][1]])
                          if s == name)
        print(f"{name:<14} {below or '-'}")
    print(f"{len(edges())} imports of rnnzoo modules; {len(upward)} from a layer above")
    assert not upward, "\n".join(upward)


def test_every_module_is_in_a_layer():
    outside = [module_name(p) for p in (ROOT / "rnnzoo").rglob("*.py") if layer_of(module_name(p)) is None]
    assert not outside, f"put these modules in a layer of LAYERS: {outside}"
