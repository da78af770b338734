"""The Boolean search matcher against Python's own not/and/or, plus precedence, phrases, bad input."""

import doctest
import random
import re

import pytest

from dlnotes import careers

VOCAB = ["ml", "deep", "learning", "engineer", "research", "data", "scientist"]


def _reference(query: str, text: str) -> bool:
    """Translate the query token by token into a Python expression and let Python evaluate it.

    Python's precedence, ``not`` over ``and`` over ``or``, is the order LinkedIn documents, so no
    parsing is needed beyond inserting the implicit ``and`` between neighbouring operands.
    """
    ws = careers.words(text)
    joined = " ".join(ws)

    def phrase(p):
        return re.search(r"(^| )" + re.escape(" ".join(careers.words(p))) + r"( |$)", joined) is not None

    parts, prev_operand = [], False
    for tok in re.findall(r'"[^"]*"|\(|\)|[^\s()"]+', query):
        starts = tok not in ("AND", "OR", ")")
        if prev_operand and starts:
            parts.append("and")
        if tok == "AND":
            parts.append("and")
        elif tok == "OR":
            parts.append("or")
        elif tok == "NOT":
            parts.append("not")
        elif tok in "()":
            parts.append(tok)
        elif tok.startswith('"'):
            parts.append(repr(phrase(tok[1:-1])))
        else:
            parts.append(repr(careers.words(tok)[0] in ws))
        prev_operand = tok not in ("AND", "OR", "NOT", "(")
    return eval(" ".join(parts))  # noqa: S307 - the tokens are True/False/and/or/not/( ) only


def _random_query(rng: random.Random, depth: int = 0) -> str:
    r = rng.random()
    if depth > 2 or r < 0.3:
        if rng.random() < 0.25:
            return '"' + " ".join(rng.sample(VOCAB, 2)) + '"'
        return rng.choice(VOCAB)
    if r < 0.45:
        return "NOT " + _random_query(rng, depth + 1)
    if r < 0.6:
        return "(" + _random_query(rng, depth + 1) + ")"
    op = rng.choice(["AND", "OR", ""])
    return f"{_random_query(rng, depth + 1)} {op} {_random_query(rng, depth + 1)}".replace("  ", " ")


def test_matches_python_precedence_on_random_queries():
    rng = random.Random(0)
    texts = [" ".join(rng.choices(VOCAB, k=rng.randint(0, 5))) for _ in range(30)]
    for _ in range(300):
        q = _random_query(rng)
        for t in texts:
            assert careers.matches(q, t) == _reference(q, t), (q, t)


def test_documented_precedence():
    assert careers.parse("a OR b AND c") == ("or", ("term", "a"), ("and", ("term", "b"), ("term", "c")))
    assert careers.parse("NOT a AND b") == ("and", ("not", ("term", "a")), ("term", "b"))
    assert careers.parse("a b") == careers.parse("a AND b")
    assert careers.parse("(a OR b) c")[0] == "and"
    assert careers.to_string(careers.parse("NOT (a OR b) c")) == "(NOT (a OR b)) AND c"


def test_phrase_versus_words_on_the_notes_titles():
    both = careers.search("machine learning engineer", careers.JOB_TITLES)
    exact = careers.search('"machine learning engineer"', careers.JOB_TITLES)
    assert both == ["Machine Learning Engineer", "Software Engineer, Machine Learning"]
    assert exact == ["Machine Learning Engineer"]
    assert careers.search("research", careers.JOB_TITLES) == ["Applied Research Scientist"]
    assert careers.matches("c++ OR c#", "Engineer (C++)") and not careers.matches("c", "C++")


def test_lowercase_operators_are_words():
    assert careers.parse("data and science") == careers.parse('data AND "and" AND science')


def test_doctests():
    assert doctest.testmod(careers).failed == 0


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("(ml OR deep", "unclosed parenthesis opened at position 0"),
        ("ml OR deep)", "closing parenthesis without an opening one at position 10"),
        ('"deep learning', "unclosed quote opened at position 0"),
        ("ml AND", "at position 6"),
        ("OR ml", "at position 0"),
        ("ml () deep", "empty parentheses at position 4"),
        ('ml ""', "empty phrase in quotes at position 3"),
        ("\u201cdeep learning\u201d", "curly quote at position 0"),
        ("   ", "the query is empty"),
        ("ml ...", "no word in '...' at position 3"),
    ],
)
def test_bad_queries_say_where(query, where):
    with pytest.raises(ValueError, match=re.escape(where)):
        careers.parse(query)


def test_bad_types():
    with pytest.raises(TypeError, match="query must be a str"):
        careers.parse(42)
    with pytest.raises(TypeError, match="text must be a str"):
        careers.matches("ml", None)
    with pytest.raises(TypeError, match="not a single string"):
        careers.search("ml", "Machine Learning Engineer")
    with pytest.raises(TypeError, match="tree from parse"):
        careers.matches((), "ml")


def test_draw_query_nodes_and_errors():
    import matplotlib

    matplotlib.use("Agg")
    fig = careers.draw_query("machine OR deep AND NOT research", careers.JOB_TITLES)
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert [s for s in labels if s in ("OR", "AND", "NOT", "machine", "deep", "research")] == [
        "machine",
        "deep",
        "research",
        "NOT",
        "AND",
        "OR",
    ]
    assert sum(s.startswith("\u2713") for s in labels) == len(
        careers.search("machine OR deep AND NOT research", careers.JOB_TITLES)
    )
    bad = careers.draw_query("(machine", careers.JOB_TITLES)
    assert "unclosed parenthesis" in bad.axes[0].texts[0].get_text()
    with pytest.raises(TypeError, match="sequence of strings"):
        careers.draw_query("ml", "Data Scientist")
