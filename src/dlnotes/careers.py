"""A Boolean search matcher with LinkedIn's documented syntax, to try a job-search query offline.

LinkedIn's help page "Using Boolean search on LinkedIn" documents five modifiers: quoted phrases
(``"machine learning"``), ``NOT``, ``AND``, ``OR`` (the operators in capital letters) and
parentheses, processed in the order quotes, parentheses, ``NOT``, ``AND``, ``OR``. Two terms
written side by side must both appear (an implicit ``AND``). The grammar below encodes that order,
from the loosest binding to the tightest::

    query   := and_expr ("OR" and_expr)*
    and_expr:= not_expr (["AND"] not_expr)*
    not_expr:= "NOT" not_expr | atom
    atom    := WORD | "\\"" WORD+ "\\"" | "(" query ")"

so ``a OR b AND c`` means ``a OR (b AND c)`` and ``NOT a AND b`` means ``(NOT a) AND b``, the same
precedence as Python's ``or`` / ``and`` / ``not`` (``tests/test_careers.py`` compares the two).

Matching is this module's choice, since LinkedIn does not document it: a text is split into
lower-case words (letters, digits, ``_``, ``+`` and ``#``, so ``C++`` and ``C#`` stay words); a
term matches when it equals one of the words, a phrase when its words appear consecutively.
Lower-case ``and`` / ``or`` / ``not`` are ordinary words, as on LinkedIn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["JOB_TITLES", "words", "parse", "to_string", "matches", "search", "draw_query"]

JOB_TITLES = (
    "Machine Learning Engineer",
    "Deep Learning Engineer",
    "Machine Learning Researcher, Deep Learning",
    "Applied Research Scientist",
    "Software Engineer, Machine Learning",
    "Data Scientist",
)
"""The common deep-learning job titles listed in the Udacity notes (chapter 3.9)."""

_WORD = re.compile(r"[\w+#]+")
_OPERATORS = ("AND", "OR", "NOT")


def words(text: str) -> list[str]:
    """The lower-case words of ``text``, the units a term or a phrase is matched against.

    >>> words("Software Engineer, Machine Learning (C++)")
    ['software', 'engineer', 'machine', 'learning', 'c++']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _WORD.findall(text.lower())


def _tokens(query: str) -> list[tuple[str, object, int]]:
    """Split a query into (kind, value, position) tokens; kinds: ( ) AND OR NOT TERM PHRASE."""
    out, i = [], 0
    while i < len(query):
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append((ch, ch, i))
            i += 1
        elif ch == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise ValueError(f"unclosed quote opened at position {i} of {query!r}")
            phrase = tuple(words(query[i + 1 : end]))
            if not phrase:
                raise ValueError(f"empty phrase in quotes at position {i} of {query!r}")
            out.append(("TERM", phrase[0], i) if len(phrase) == 1 else ("PHRASE", phrase, i))
            i = end + 1
        elif ch in "\u201c\u201d":
            raise ValueError(f'curly quote at position {i} of {query!r}: use straight quotes "..."')
        else:
            j = i
            while j < len(query) and not query[j].isspace() and query[j] not in '()"':
                j += 1
            raw = query[i:j]
            if raw in _OPERATORS:
                out.append((raw, raw, i))
            else:
                found = words(raw)
                if not found:
                    raise ValueError(f"no word in {raw!r} at position {i} of {query!r}")
                out.append(("TERM", found[0], i) if len(found) == 1 else ("PHRASE", tuple(found), i))
            i = j
    return out


class _Parser:
    def __init__(self, query: str):
        self.query, self.toks, self.k = query, _tokens(query), 0

    def peek(self) -> str | None:
        return self.toks[self.k][0] if self.k < len(self.toks) else None

    def fail(self, what: str) -> ValueError:
        pos = self.toks[self.k][2] if self.k < len(self.toks) else len(self.query)
        return ValueError(f"{what} at position {pos} of {self.query!r}")

    def query_expr(self):
        node = self.and_expr()
        while self.peek() == "OR":
            self.k += 1
            node = ("or", node, self.and_expr())
        return node

    def and_expr(self):
        node = self.not_expr()
        while self.peek() in ("AND", "NOT", "TERM", "PHRASE", "("):
            if self.peek() == "AND":
                self.k += 1
            node = ("and", node, self.not_expr())
        return node

    def not_expr(self):
        if self.peek() == "NOT":
            self.k += 1
            return ("not", self.not_expr())
        return self.atom()

    def atom(self):
        kind = self.peek()
        if kind in ("TERM", "PHRASE"):
            node = (kind.lower(), self.toks[self.k][1])
            self.k += 1
            return node
        if kind == "(":
            opened = self.toks[self.k][2]
            self.k += 1
            if self.peek() == ")":
                raise self.fail("empty parentheses")
            node = self.query_expr()
            if self.peek() != ")":
                raise ValueError(f"unclosed parenthesis opened at position {opened} of {self.query!r}")
            self.k += 1
            return node
        if kind == ")":
            raise self.fail("closing parenthesis without an opening one")
        raise self.fail("expected a term, a quoted phrase, NOT or '('")


def parse(query: str) -> tuple:
    """Parse a Boolean query into a tree of tuples.

    Nodes: ``("term", word)``, ``("phrase", (w1, w2, ...))``, ``("not", x)``, ``("and", x, y)``,
    ``("or", x, y)``; ``AND`` and ``OR`` group from the left. Raises ``ValueError`` saying where
    the query is malformed (an unbalanced parenthesis or quote, an operator without a term, an
    empty query), ``TypeError`` when ``query`` is not a string.

    >>> parse('ML OR "deep learning" AND NOT intern')
    ('or', ('term', 'ml'), ('and', ('phrase', ('deep', 'learning')), ('not', ('term', 'intern'))))
    """
    if not isinstance(query, str):
        raise TypeError(f"query must be a str, got {type(query).__name__}")
    if not query.strip():
        raise ValueError("the query is empty")
    p = _Parser(query)
    tree = p.query_expr()
    if p.peek() is not None:
        raise p.fail("closing parenthesis without an opening one" if p.peek() == ")" else "unexpected token")
    return tree


def to_string(tree: tuple) -> str:
    """Write a parsed query back with every grouping made explicit by parentheses.

    >>> to_string(parse("a OR b AND NOT c"))
    'a OR (b AND (NOT c))'
    """
    kind = tree[0]
    if kind == "term":
        return tree[1]
    if kind == "phrase":
        return '"' + " ".join(tree[1]) + '"'
    if kind == "not":
        inner = to_string(tree[1])
        return f"NOT {inner}" if tree[1][0] in ("term", "phrase", "not") else f"NOT ({inner})"
    parts = []
    for child in tree[1:]:
        s = to_string(child)
        parts.append(s if child[0] in ("term", "phrase") or child[0] == kind else f"({s})")
    return f" {kind.upper()} ".join(parts)


def _evaluate(tree: tuple, ws: list[str]) -> bool:
    kind = tree[0]
    if kind == "term":
        return tree[1] in ws
    if kind == "phrase":
        n = len(tree[1])
        return any(tuple(ws[i : i + n]) == tree[1] for i in range(len(ws) - n + 1))
    if kind == "not":
        return not _evaluate(tree[1], ws)
    if kind == "and":
        return _evaluate(tree[1], ws) and _evaluate(tree[2], ws)
    return _evaluate(tree[1], ws) or _evaluate(tree[2], ws)


def matches(query: str | tuple, text: str) -> bool:
    """Whether ``text`` satisfies the Boolean ``query`` (a string or a tree from :func:`parse`).

    >>> matches('"machine learning" NOT research', "Software Engineer, Machine Learning")
    True
    """
    tree = parse(query) if isinstance(query, str) else query
    if not isinstance(tree, tuple) or not tree:
        raise TypeError(f"query must be a str or a tree from parse(), got {type(query).__name__}")
    return _evaluate(tree, words(text))


def search(query: str, texts: Iterable[str]) -> list[str]:
    """The texts that ``query`` matches, in their original order.

    >>> search("scientist OR researcher", JOB_TITLES)
    ['Machine Learning Researcher, Deep Learning', 'Applied Research Scientist', 'Data Scientist']
    """
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of strings, not a single string")
    tree = parse(query)
    return [t for t in texts if matches(tree, t)]


def _layout(tree: tuple, depth: int, leaves: list[float], nodes: list, edges: list) -> float:
    """Place a tree: leaves left to right, a parent above the mean of its children."""
    kind = tree[0]
    if kind in ("term", "phrase"):
        label = tree[1] if kind == "term" else '"' + " ".join(tree[1]) + '"'
        width = max(1.0, 0.13 * len(label) + 0.2)
        x = leaves[0] + width / 2
        leaves[0] += width
    else:
        xs = [_layout(child, depth + 1, leaves, nodes, edges) for child in tree[1:]]
        x = sum(xs) / len(xs)
        edges.extend(((x, -depth), (cx, -depth - 1)) for cx in xs)
        label = kind.upper()
    nodes.append((x, -depth, label, kind in ("term", "phrase")))
    return x


def draw_query(query: str, texts: Sequence[str], ax=None):
    """Draw the parse tree of ``query`` and the ``texts`` it matches (bold, green tick) or not.

    Returns the matplotlib ``Figure``. A malformed query draws the ``ValueError`` message instead,
    so an explorer with a text box keeps working while a query is being typed.
    """
    import matplotlib.pyplot as plt

    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a sequence of strings")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 2.8))
    ax.set_axis_off()
    try:
        tree = parse(query)
    except ValueError as error:
        ax.text(0.5, 0.5, f"{query}\n{error}", ha="center", va="center", wrap=True, color="C3")
        return ax.figure
    nodes, edges = [], []
    leaves = [0.0]
    _layout(tree, 0, leaves, nodes, edges)
    width = leaves[0]
    depth = -min(y for _, y, *_ in nodes)
    for (x0, y0), (x1, y1) in edges:
        ax.plot([x0, x1], [y0, y1], color="0.6", lw=1, zorder=1)
    for x, y, label, leaf in nodes:
        style = dict(boxstyle="round", fc="white" if leaf else "C0", ec="C0")
        ax.text(x, y, label, ha="center", va="center", color="k" if leaf else "white", bbox=style)
    for i, text in enumerate(texts):
        hit = matches(tree, text)
        ax.text(
            width + 0.2,
            -i * (depth + 0.5) / max(len(texts) - 1, 1),
            ("\u2713 " if hit else "\u2717 ") + text,
            va="center",
            fontsize=9,
            color="C2" if hit else "0.55",
            fontweight="bold" if hit else "normal",
        )
    ax.set_xlim(-0.2, width + 4.0)
    ax.set_ylim(-depth - 0.6, 0.6)
    ax.set_title(to_string(tree), fontsize=10)
    return ax.figure
