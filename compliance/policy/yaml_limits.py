"""Bounds on what a YAML document may expand to, checked before any value is built.

YAML aliases (`*name`) repeat an anchored node wherever they appear. Ten lines can then
stand for a billion values ("billion laughs": each anchor a list of nine aliases of the
previous one), and an alias inside its own anchor (`a: &a [*a]`) stands for an infinite
one. PyYAML's composer shares the anchored node, so composing is cheap; whatever walks the
result (our line-keeping builder, `json.dumps` of semgrep rules) expands it, and would hang
or run out of memory. So the composed graph is walked once here, counting every node as
often as it would be built, with a budget:

- at most MAX_ALIAS_NODES nodes reached again through aliases (a real policy repeats a few
  dozen; a file without aliases costs nothing against it, however large),
- at most MAX_DEPTH levels of nesting (our builder recurses; aliases can stack depth beyond
  libyaml's own limit on written nesting),
- no alias inside the node it names.

Over a bound is a LimitError naming the line of the alias (or of the node nested too deep):
the fast C composer does not keep alias positions, so on that rare path the text is composed
once more with PyYAML's Python composer, which does. The walk stops at the bound, so memory
and time stay bounded whatever the document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import yaml

MAX_ALIAS_NODES = 100_000
MAX_DEPTH = 200
"""Below Python's recursion limit for the builder (two frames per level), far above any
real configuration (the deepest shipped file nests about ten levels)."""

Slot = tuple[int, int | None]
"""Where a child sits: (id of its parent node, index in a sequence / id of its key node,
or None for a mapping key)."""


class LimitError(Exception):
    """A document over a bound: `line` (1-based) and a message for a person."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class _Alias:
    name: str
    line: int


def check(node: yaml.Node, text: str | bytes | None = None) -> None:
    """Raise LimitError when `node` (composed from `text`) would expand beyond the bounds."""
    problem = _walk(node, lambda _slot: None)
    if problem is None:
        return
    if text is not None:
        located = _locate(text)
        if located is not None:
            raise located
    raise problem


def _locate(text: str | bytes) -> LimitError | None:
    """The same walk over a Python-composed graph, which knows where each alias was."""
    loader = _AliasMarkingLoader(text)
    try:
        node = loader.get_single_node()
    except (yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()
    if node is None:
        return None
    return _walk(node, loader.aliases.get)


def _walk(root: yaml.Node, alias_at: Callable[[Slot], _Alias | None]) -> LimitError | None:
    """Depth-first over the document as it would be built, without building it.

    Iterative (an explicit stack), so that the walk itself cannot overflow; a node is on
    the `path` set while its children are being walked, which is how an alias back into it
    is told apart from a repeated, finite one."""
    seen: set[int] = set()
    on_path: set[int] = set()
    repeated = 0
    # (node, the alias that led here or None, depth); None marks "leave the node above"
    stack: list[tuple[yaml.Node, _Alias | None, int] | None] = [(root, None, 1)]
    aliases: list[_Alias | None] = []  # parallel to the nodes being walked
    entered: list[int] = []
    while stack:
        item = stack.pop()
        if item is None:
            on_path.discard(entered.pop())
            aliases.pop()
            continue
        node, alias, depth = item
        key = id(node)
        if key in on_path:
            return _recursive(alias, node)
        if key in seen:
            repeated += 1
            if repeated > MAX_ALIAS_NODES:
                return _too_many(next((a for a in aliases if a), alias), node)
        seen.add(key)
        if depth > MAX_DEPTH:
            return LimitError(
                node.start_mark.line + 1,
                f"nested more than {MAX_DEPTH} levels deep (counting what aliases repeat); "
                "no configuration needs that, so it is refused rather than read",
            )
        children = list(_children(node))
        if not children:
            continue
        on_path.add(key)
        entered.append(key)
        aliases.append(alias)
        stack.append(None)
        for child, slot in reversed(children):
            stack.append((child, alias_at(slot), depth + 1))
    return None


def _children(node: yaml.Node) -> Iterator[tuple[yaml.Node, Slot]]:
    if isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            yield child, (id(node), index)
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            yield key_node, (id(node), None)
            yield value_node, (id(node), id(key_node))


def _recursive(alias: _Alias | None, node: yaml.Node) -> LimitError:
    if alias is None:
        return LimitError(
            node.start_mark.line + 1,
            "an alias refers to a node that contains it (a recursive alias); YAML like this "
            "has no finite value: write the values out",
        )
    return LimitError(
        alias.line,
        f"alias *{alias.name} refers to a node that contains it (a recursive alias); YAML "
        "like this has no finite value: write the values out",
    )


def _too_many(alias: _Alias | None, node: yaml.Node) -> LimitError:
    what = f"alias *{alias.name}" if alias else "aliases"
    return LimitError(
        alias.line if alias else node.start_mark.line + 1,
        f"{what} would repeat more than {MAX_ALIAS_NODES} values (a 'billion laughs' "
        "document?); write the values out or use fewer aliases",
    )


class _AliasMarkingLoader(yaml.SafeLoader):
    """PyYAML's Python composer, remembering the line and name of every alias by slot."""

    def __init__(self, stream: str | bytes):
        super().__init__(stream)
        self.aliases: dict[Slot, _Alias] = {}

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # `index` is typed int in the stubs; PyYAML passes a sequence index, a mapping's
        # key node (for its value) or None (for the key itself)
        is_alias = self.check_event(yaml.AliasEvent)
        event = self.peek_event() if is_alias else None  # type: ignore[no-untyped-call]
        node = super().compose_node(parent, index)
        if event is not None and parent is not None:
            where: object = index
            slot: Slot = (id(parent), where if isinstance(where, int) else _key_id(where))
            self.aliases.setdefault(
                slot, _Alias(str(getattr(event, "anchor", "?")), event.start_mark.line + 1)
            )
        return node


def _key_id(index: object) -> int | None:
    return None if index is None else id(index)
