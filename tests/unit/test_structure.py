"""Module boundaries: no import cycles in nam_jax/ (of modules or of folders), no library import
of the top-level configs, and inference never names a model family (face prior or degradation)."""

import ast
import functools
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / 'nam_jax'
# Model families inference reaches only through config blocks: the face priors' packages and
# every degradation implementation (nam_jax/degradations/__init__.py, the protocol, is not one).
FAMILIES = ('nam_jax.progan', 'nam_jax.stylegan', 'nam_jax.degradations.', 'nam_jax.degrade')


def _module_name(path: pathlib.Path, root: pathlib.Path = PACKAGE) -> str:
  parts = path.relative_to(root.parent).with_suffix('').parts
  return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


@functools.lru_cache(maxsize=None)
def _parse(path: pathlib.Path, text: str) -> ast.Module:
  # Each file is parsed once per session: the parametrized cases share the trees (CPython
  # 3.11.7's ast.parse once raised a spurious SystemError in a full CI run).
  del path  # Part of the key only.
  return ast.parse(text)


def _imports(path: pathlib.Path, modules: set[str]) -> set[str]:
  """nam_jax modules imported anywhere in a file (function-level imports included)."""
  found = set()
  for node in ast.walk(_parse(path, path.read_text())):
    if isinstance(node, ast.Import):
      names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module:
      # `from pkg import mod` imports pkg.mod when that is a module, else pkg itself.
      names = [f'{node.module}.{a.name}' if f'{node.module}.{a.name}' in modules
               else node.module for a in node.names]
    else:
      continue
    found |= {n for n in names if n in modules}
  return found


def import_graph(root: pathlib.Path = PACKAGE) -> dict[str, set[str]]:
  files = {_module_name(p, root): p for p in root.rglob('*.py')}
  return {name: _imports(path, set(files)) - {name} for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
  """One import cycle as a list of modules, or None."""
  state: dict[str, int] = {}  # 1 = on the current path, 2 = done.
  path: list[str] = []

  def visit(node):
    state[node] = 1
    path.append(node)
    for nxt in sorted(graph.get(node, ())):
      if state.get(nxt) == 1:
        return path[path.index(nxt):] + [nxt]
      if nxt not in state:
        cycle = visit(nxt)
        if cycle:
          return cycle
    state[node] = 2
    path.pop()
    return None

  for node in sorted(graph):
    if node not in state:
      cycle = visit(node)
      if cycle:
        return cycle
  return None


def test_no_import_cycles_in_the_package():
  graph = import_graph()
  assert 'nam_jax.nam.invert' in graph and graph['nam_jax.nam.invert']  # The walk sees imports.
  assert find_cycle(graph) is None, ' -> '.join(find_cycle(graph))


def test_cycle_finder_finds_a_cycle_and_a_package_import(tmp_path):
  pkg = tmp_path / 'nam_jax'
  (pkg / 'sub').mkdir(parents=True)
  (pkg / '__init__.py').write_text('')
  (pkg / 'sub' / '__init__.py').write_text('')
  (pkg / 'a.py').write_text('from nam_jax.sub import b\n')
  (pkg / 'sub' / 'b.py').write_text('def f():\n  import nam_jax.c\n')
  (pkg / 'c.py').write_text('from nam_jax import a\n')
  graph = import_graph(pkg)
  assert graph['nam_jax.a'] == {'nam_jax.sub.b'}
  assert find_cycle(graph) is not None
  (pkg / 'c.py').write_text('import numpy\n')
  assert find_cycle(import_graph(pkg)) is None


@pytest.mark.parametrize('path', sorted((PACKAGE / 'nam').glob('*.py')), ids=lambda p: p.name)
def test_inference_reaches_model_families_only_through_the_registry(path):
  graph = import_graph()
  imported = graph[_module_name(path)]
  named = {m for m in imported if m.startswith(FAMILIES)}
  assert not named, f'{path.name} imports {sorted(named)}'
  # And no family module is named as a string either (e.g. importlib by name).
  assert not any(f in path.read_text() for f in FAMILIES)


def _own_option_names() -> set[str]:
  """The own options of every face prior block of the shipped configs."""
  from configs import cpu, paper, test
  return {key for module in (cpu, paper, test)
          for block in module.get_config().nam.priors.values()
          for key in dict(block.get('own', {}))}


def _option_references(path: pathlib.Path, names: set[str]) -> set[str]:
  """`names` used as an attribute, a keyword argument or a string in a file (the ways code
  reads or passes an option; local variables of the same spelling are not references)."""
  found = set()
  for node in ast.walk(_parse(path, path.read_text())):
    if isinstance(node, ast.Attribute):
      found.add(node.attr)
    elif isinstance(node, ast.keyword) and node.arg:
      found.add(node.arg)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
      found.add(node.value)
  return found & names


def test_inference_names_no_option_of_one_prior():
  names = _own_option_names()
  assert {'w_plus', 'spread'} <= names  # The StyleGAN prior's, so the check has teeth.
  files = sorted((PACKAGE / 'nam').glob('*.py')) + [PACKAGE / 'priors.py']
  named = {p.name: sorted(_option_references(p, names)) for p in files}
  assert not any(named.values()), {k: v for k, v in named.items() if v}
  probe = PACKAGE.parent / 'nam_jax' / 'stylegan' / 'prior.py'  # The family itself names them.
  assert _option_references(probe, names) == {'w_plus', 'spread'}


def test_every_command_line_of_the_package_uses_absl_flags_through_cli():
  """One command-line style (nam_jax/cli.py): no argparse and no hand-read sys.argv."""
  offenders = []
  for path in sorted(PACKAGE.rglob('*.py')):
    for node in ast.walk(_parse(path, path.read_text())):
      if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [a.name for a in node.names] + [getattr(node, 'module', None) or '']
        if 'argparse' in names:
          offenders.append(f'{path.name}: imports argparse')
      elif (isinstance(node, ast.Attribute) and node.attr == 'argv'
            and isinstance(node.value, ast.Name) and node.value.id == 'sys'):
        offenders.append(f'{path.name}:{node.lineno}: reads sys.argv')
  assert not offenders, offenders


def _folder(module: str) -> str:
  """A module's folder (nam_jax.eval for nam_jax.eval.suite); a top-level module is its own."""
  parts = module.split('.')
  return '.'.join(parts[:2]) if len(parts) > 2 else module


def test_no_two_folders_depend_on_each_other():
  graph = import_graph()
  folders: dict[str, set[str]] = {}
  for module, imported in graph.items():
    folders.setdefault(_folder(module), set()).update(
        _folder(m) for m in imported if _folder(m) != _folder(module))
  assert 'nam_jax.degradations' in folders['nam_jax.nam']  # The walk sees folder edges.
  pairs = sorted((a, b) for a in folders for b in folders[a]
                 if a < b and a in folders.get(b, ()))
  assert not pairs, pairs


def test_the_library_never_imports_the_top_level_configs():
  """Configs are read by the entry points (and --config flags), then passed in."""
  offenders = []
  for path in sorted(PACKAGE.rglob('*.py')):
    for node in ast.walk(_parse(path, path.read_text())):
      if isinstance(node, ast.ImportFrom) and (node.module or '').split('.')[0] == 'configs':
        offenders.append(f'{path.relative_to(PACKAGE)}:{node.lineno}')
      elif isinstance(node, ast.Import) and any(a.name.split('.')[0] == 'configs'
                                                for a in node.names):
        offenders.append(f'{path.relative_to(PACKAGE)}:{node.lineno}')
  assert not offenders, offenders


def _imported_by(path: pathlib.Path) -> set[str]:
  """Dotted names a test file imports: its import statements and the `from X import Y` lines
  of the scripts it runs in subprocesses (string constants)."""
  names = set()
  for node in ast.walk(_parse(path, path.read_text())):
    if isinstance(node, ast.Import):
      names |= {a.name for a in node.names}
    elif isinstance(node, ast.ImportFrom) and node.module:
      names |= {node.module} | {f'{node.module}.{a.name}' for a in node.names}
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
      for line in node.value.splitlines():
        words = line.split()
        if len(words) > 3 and words[0] == 'from' and words[2] == 'import':
          names |= {words[1]} | {f'{words[1]}.{n.strip(",")}' for n in words[3:]}
  return names


def test_every_library_module_is_imported_by_a_test():
  tests = pathlib.Path(__file__).resolve().parents[1]
  imported = set().union(*(_imported_by(p) for p in tests.rglob('*.py')))
  modules = {_module_name(p) for p in PACKAGE.rglob('*.py')}
  assert not sorted(modules - imported)


def test_the_tests_are_grouped_by_layer():
  """tests/unit (one module or a few, in process), tests/end_to_end (the commands as a user
  runs them, and their reruns), tests/multi_process (launched jobs), tests/notebooks."""
  tests = pathlib.Path(__file__).resolve().parents[1]
  assert not list(tests.glob('test_*.py'))
  layers = {p.parent.name for p in tests.rglob('test_*.py')}
  assert layers == {'unit', 'end_to_end', 'multi_process', 'notebooks'}
