"""Facts read from a cell's source: its parameters, the names it reads and binds, and ``-p`` rewrites.

    >>> facts = analyse("lr = 0.01\\nlayers = [64, 32]\\nacc = train(df, lr)")
    >>> facts.params, sorted(facts.reads), facts.assigned
    ({'lr': 0.01, 'layers': [64, 32]}, ['df', 'train'], ('acc',))
    >>> rewrite("lr = 0.01\\n", {"lr": 0.1})
    'lr = 0.1\\n'

A parameter is a top-level name whose every top-level binding is a literal (``lr = 0.01``,
``lr: float = 0.01``, ``a, b = 1, 2``). Everything else the cell binds at top level by assignment is in
``assigned``: where final metrics and candidate models are looked for after the cell ran.
"""

from __future__ import annotations

import ast
import builtins
import functools
import symtable
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidValue

_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class CodeFacts:
    """What ``analyse`` finds in one cell or script."""

    params: dict[str, Any]  # name -> literal value, in source order
    assigned: tuple[str, ...]  # module-scope names given a computed value by `=`, `+=`, `: T =`
    reads: frozenset[str]  # names read before the code binds them (builtins left out)
    defines: frozenset[str]  # names bound or mutated at top level (``df["x"] = 1``, ``model.fit(X)``)


@functools.lru_cache(maxsize=1024)
def analyse(source: str) -> CodeFacts:
    """Read ``source``'s top-level statements; raises SyntaxError when it does not parse."""
    tree = ast.parse(source)
    literal: dict[str, Any] = {}
    computed: dict[str, None] = {}  # an ordered set
    reads: set[str] = set()
    defines: set[str] = set()
    for stmt in tree.body:
        stmt_reads, stmt_binds = _scope_names(stmt)
        reads |= stmt_reads - defines - _bound_first(stmt)
        defines |= stmt_binds | _mutated(stmt)
        pairs = dict(_assignments(stmt))
        for name in [*pairs, *sorted(stmt_binds - pairs.keys())]:
            node = pairs.get(name)
            value = _literal(node) if node is not None else _NOT_LITERAL
            if value is _NOT_LITERAL or name in computed:
                literal.pop(name, None)
                computed[name] = None
            else:
                literal[name] = value
    assigned = _assigned_names(tree)
    computed_values = tuple(n for n in computed if n in assigned)
    return CodeFacts(literal, computed_values, frozenset(reads - _BUILTINS), frozenset(defines))


def rewrite(source: str, overrides: Mapping[str, Any]) -> str:
    """``source`` with each parameter in ``overrides`` set to the new value, line numbers unchanged.

    Raises InvalidValue naming the parameters the code has when an override names something else.
    """
    if not overrides:
        return source
    facts = analyse(source)
    unknown = [k for k in overrides if k not in facts.params]
    if unknown:
        have = ", ".join(facts.params) or "none"
        raise InvalidValue(
            f"-p {unknown[0]}: the code has no top-level literal assignment `{unknown[0]} = ...` to "
            f"override; its parameters are: {have}"
        )
    lines = source.splitlines(keepends=True)
    encoded = [line.encode() for line in lines]
    spans = []
    for stmt in ast.parse(source).body:
        for name, node in _assignments(stmt):
            if name in overrides and node is not None:
                spans.append((node, repr(overrides[name])))
    # Replace from the end so earlier offsets stay valid. Offsets are UTF-8 byte columns.
    spans.sort(key=lambda s: (s[0].lineno, s[0].col_offset), reverse=True)
    for node, text in spans:
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        head = encoded[first][: node.col_offset]
        tail = encoded[last][node.end_col_offset :]
        if last > first:  # keep the line count: pad inside parentheses
            text = "(" + text + "\n" * (last - first) + ")"
        new = (head + text.encode() + tail).split(b"\n")
        merged = [part + b"\n" for part in new[:-1]] + ([new[-1]] if new[-1] else [])
        encoded[first : last + 1] = merged
    return b"".join(encoded).decode()


def parse_pairs(items: list[str] | None, flag: str, literal: bool = True) -> dict[str, Any]:
    """``KEY=VALUE`` arguments (``-p lr=0.1``, ``--tag team=risk``) as a dict; values are read as
    Python literals when ``literal``. Raises InvalidValue naming the flag and an example."""
    found: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            example = "lr=0.1" if literal else "team=risk"
            raise InvalidValue(f"{flag} takes KEY=VALUE, e.g. {flag} {example}; got {item!r}")
        found[key.strip()] = parse_value(value) if literal else value
    return found


def parse_value(text: str) -> Any:
    """A ``-p`` value: a Python literal (``0.1``, ``[64, 32]``, ``'rf'``), else the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


_NOT_LITERAL = object()


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NOT_LITERAL


def _assignments(stmt: ast.stmt) -> Iterator[tuple[str, ast.expr | None]]:
    """(name, value node) for each plain name a top-level assignment binds; None when not separable."""
    if isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            yield from _pairs(target, stmt.value)
    elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
        yield stmt.target.id, stmt.value
    elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
        yield stmt.target.id, None


def _pairs(target: ast.expr, value: ast.expr | None) -> Iterator[tuple[str, ast.expr | None]]:
    if isinstance(target, ast.Name):
        yield target.id, value
    elif isinstance(target, ast.Tuple | ast.List):
        split = isinstance(value, ast.Tuple | ast.List) and len(value.elts) == len(target.elts)
        for i, element in enumerate(target.elts):
            yield from _pairs(element, value.elts[i] if split else None)  # type: ignore[union-attr]


def _assigned_names(tree: ast.Module) -> set[str]:
    """Names assigned with ``=``/``+=``/``: T =`` in module scope, inside loops and ifs too, but not in
    functions or classes; loop variables, imports and definitions are not values the cell computed."""
    found: set[str] = set()
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, ast.Assign):
            found.update(n for t in node.targets for n, _ in _pairs(t, None))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
            target = node.target
            found.update([target.id] if isinstance(target, ast.Name) else [])
        stack.extend(ast.iter_child_nodes(node))
    return found


def _scope_names(stmt: ast.stmt) -> tuple[set[str], set[str]]:
    """Names one statement reads from and binds in the global scope, nested functions included."""
    table = symtable.symtable(ast.unparse(stmt), "<cell>", "exec")
    reads, binds = set(), set()
    for sym in table.get_symbols():
        if sym.is_referenced():
            reads.add(sym.get_name())
        if sym.is_assigned() or sym.is_imported():
            binds.add(sym.get_name())
    # Python 3.12 inlines comprehensions into the enclosing scope: their loop variables are not reads.
    reads -= {
        node.id
        for comp in ast.walk(stmt)
        if isinstance(comp, ast.comprehension)
        for node in ast.walk(comp.target)
        if isinstance(node, ast.Name)
    }
    stack = list(table.get_children())
    while stack:
        child = stack.pop()
        stack.extend(child.get_children())
        for sym in child.get_symbols():
            if sym.is_global() and sym.is_referenced():
                reads.add(sym.get_name())
            if sym.is_declared_global() and sym.is_assigned():
                binds.add(sym.get_name())
    return reads, binds


def _bound_first(stmt: ast.stmt) -> set[str]:
    """Names a statement binds before its body reads them: loop and ``with`` targets, def/class names."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {stmt.name}
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.For | ast.AsyncFor):
        targets = [stmt.target]
    elif isinstance(stmt, ast.With | ast.AsyncWith):
        targets = [item.optional_vars for item in stmt.items if item.optional_vars is not None]
    return {node.id for t in targets for node in ast.walk(t) if isinstance(node, ast.Name)}


def _mutated(stmt: ast.stmt) -> set[str]:
    """Names a statement changes in place: ``df["x"] = 1``, ``model.fit(X)``, ``items.append(3)``."""
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, ast.AugAssign | ast.AnnAssign):
        targets = [stmt.target]
    elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        targets = [stmt.value.func]
    elif isinstance(stmt, ast.Delete):
        targets = list(stmt.targets)
    found = set()
    for target in targets:
        if isinstance(target, ast.Attribute | ast.Subscript):
            base = _base_name(target)
            if base:
                found.add(base)
    return found


def _base_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None
