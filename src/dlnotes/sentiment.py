"""Sentiment prediction with a recurrent network, on short reviews generated from a small grammar.

- ``POSITIVE``, ``NEGATIVE`` and ``SUBJECTS``: the word lists of the grammar.
- ``clause_polarity`` and ``review_label``: the rule that labels a review (``not`` flips the
  adjective that follows it; after ``but`` the second clause decides).
- ``generate_reviews``: every review the grammar allows, in a fixed order, with its label.
- ``with_tail``: the same reviews followed by neutral words, which carry no sentiment.
- ``split_by_adjectives``: a train / test split in which the test reviews pair adjectives that
  never appear together in a training review (new combinations of known words).
- ``same_bag_pairs``: pairs of reviews with the same bag of words and opposite labels.
- ``pad_reviews``: word ids padded to a rectangle (on the right or on the left) and the lengths.
- ``last_real_step``: the output of a recurrent layer at each sequence's last real token.
- ``SentimentRNN``: embedding, LSTM (one or two directions) and one logit read at the last real
  token (a packed sequence), or, with ``lengths=None``, at the last padded step.

``tests/test_sentiment.py`` checks them against direct computations and ``torch.nn`` (``nn.LSTM``
on each review alone, ``pack_padded_sequence``).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ._checks import positive_int, positive_ints

__all__ = [
    "POSITIVE",
    "NEGATIVE",
    "SUBJECTS",
    "NEUTRAL",
    "PAD",
    "clause_polarity",
    "review_label",
    "generate_reviews",
    "with_tail",
    "split_by_adjectives",
    "same_bag_pairs",
    "pad_reviews",
    "last_real_step",
    "SentimentRNN",
]

POSITIVE = ("good", "great", "funny", "clever", "moving")
NEGATIVE = ("bad", "dull", "boring", "silly", "awful")
SUBJECTS = ("film", "plot", "acting")
NEUTRAL = ("i", "saw", "it", "on", "sunday", "with", "a", "friend", "at", "home")
PAD = "<pad>"


def clause_polarity(adjective: str, negated: bool) -> int:
    """1 for a positive clause, 0 for a negative one: the adjective's polarity, flipped by ``not``."""
    if adjective in POSITIVE:
        polarity = 1
    elif adjective in NEGATIVE:
        polarity = 0
    else:
        raise ValueError(f"unknown adjective {adjective!r}; allowed: {POSITIVE + NEGATIVE}")
    return 1 - polarity if negated else polarity


def _clauses(words: Sequence[str]) -> tuple[list[tuple[str, bool]], str | None]:
    if len(words) < 4 or words[0] != "the" or words[1] not in SUBJECTS or words[2] != "was":
        raise ValueError(f"a review starts 'the <subject> was', got {' '.join(words)!r}")
    rest, clauses, conjunction = list(words[3:]), [], None
    while rest:
        negated = rest[0] == "not"
        if negated:
            rest.pop(0)
        if not rest:
            raise ValueError(f"'not' must be followed by an adjective in {' '.join(words)!r}")
        clauses.append((rest.pop(0), negated))
        if rest:
            if conjunction is not None or rest[0] not in ("and", "but") or len(rest) == 1:
                raise ValueError(f"not a review of the grammar: {' '.join(words)!r}")
            conjunction = rest.pop(0)
    return clauses, conjunction


def review_label(words: Sequence[str]) -> int:
    """The label of a review of the grammar (1 positive, 0 negative).

    One clause: its polarity. ``A and B``: the clauses agree, and the label is their polarity.
    ``A but B``: the clauses disagree, and the second one decides. A review that breaks these
    rules raises ``ValueError``.
    """
    if isinstance(words, str):
        raise TypeError("words must be a sequence of str, not one str (split it first)")
    clauses, conjunction = _clauses(words)
    polarities = [clause_polarity(adjective, negated) for adjective, negated in clauses]
    if conjunction == "and" and polarities[0] != polarities[1]:
        raise ValueError(f"'and' joins clauses of the same polarity: {' '.join(words)!r}")
    if conjunction == "but" and polarities[0] == polarities[1]:
        raise ValueError(f"'but' joins clauses of opposite polarity: {' '.join(words)!r}")
    return polarities[-1]


def generate_reviews(subjects: Sequence[str] = SUBJECTS) -> list[tuple[list[str], int]]:
    """Every review of the grammar, each as ``(words, label)``, in a fixed order.

    A review is ``the <subject> was <clause>`` or ``the <subject> was <clause> and|but <clause>``,
    where a clause is an adjective from ``POSITIVE`` or ``NEGATIVE``, optionally preceded by
    ``not``. Two clauses use two different adjectives; ``and`` joins clauses of the same polarity,
    ``but`` clauses of opposite polarity (see ``review_label``).
    """
    subjects = list(subjects)
    if not subjects or any(s not in SUBJECTS for s in subjects):
        raise ValueError(f"subjects must be a non-empty selection of {SUBJECTS}, got {subjects!r}")
    clauses = [(["not"] if negated else []) + [a] for a in POSITIVE + NEGATIVE for negated in (False, True)]
    reviews = []
    for subject in subjects:
        start = ["the", subject, "was"]
        reviews += [(start + c, review_label(start + c)) for c in clauses]
        for first, second in itertools.product(clauses, repeat=2):
            if first[-1] == second[-1]:
                continue
            same = clause_polarity(first[-1], len(first) == 2) == clause_polarity(
                second[-1], len(second) == 2
            )
            words = start + first + ["and" if same else "but"] + second
            reviews.append((words, review_label(words)))
    return reviews


def with_tail(
    reviews: Sequence[tuple[Sequence[str], int]], n_words: int, seed: int = 0
) -> list[tuple[list[str], int]]:
    """The reviews, each followed by ``n_words`` words drawn from ``NEUTRAL``; labels unchanged.

    The tail (``"... i saw it with a friend"``) carries no sentiment, but it moves the words
    that decide the label away from the end of the review. Drawn with a seeded CPU generator.
    """
    positive_int("n_words", n_words)
    for words, _ in reviews:
        review_label(words)
    g = torch.Generator(device="cpu").manual_seed(int(seed))
    return [
        (list(words) + [NEUTRAL[int(i)] for i in torch.randint(len(NEUTRAL), (n_words,), generator=g)], label)
        for words, label in reviews
    ]


def _adjectives(words: Sequence[str]) -> frozenset[str]:
    return frozenset(w for w in words if w in POSITIVE or w in NEGATIVE)


def split_by_adjectives(
    reviews: Sequence[tuple[Sequence[str], int]], test_fraction: float = 0.25, seed: int = 0
) -> tuple[list[int], list[int]]:
    """Indices of a training and a test set; test reviews combine adjectives never seen together.

    The two-adjective reviews are grouped by their (unordered) pair of adjectives, and a fraction
    ``test_fraction`` of the pairs, drawn with a seeded CPU generator, goes to the test set with
    all of its reviews. One-adjective reviews all stay in training.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be strictly between 0 and 1, got {test_fraction!r}")
    pairs = sorted({_adjectives(w) for w, _ in reviews if len(_adjectives(w)) == 2}, key=sorted)
    if not pairs:
        raise ValueError("reviews must contain reviews with two adjectives")
    g = torch.Generator(device="cpu").manual_seed(int(seed))
    order = torch.randperm(len(pairs), generator=g).tolist()
    held_out = {pairs[i] for i in order[: max(1, round(test_fraction * len(pairs)))]}
    test = [i for i, (w, _) in enumerate(reviews) if _adjectives(w) in held_out]
    train = [i for i, (w, _) in enumerate(reviews) if _adjectives(w) not in held_out]
    return train, test


def same_bag_pairs(reviews: Sequence[tuple[Sequence[str], int]]) -> list[tuple[int, int]]:
    """All index pairs ``(i, j)``, ``i < j``, of reviews with the same bag of words and opposite labels.

    The bag of words of a review is the multiset of its words; order is forgotten. A model that
    sees only the bag gives both reviews of a pair the same output, so it gets at most one right.
    """
    groups: dict[tuple[tuple[str, int], ...], list[int]] = {}
    for i, (words, _) in enumerate(reviews):
        groups.setdefault(tuple(sorted(Counter(words).items())), []).append(i)
    return [
        (i, j)
        for members in groups.values()
        for i, j in itertools.combinations(members, 2)
        if reviews[i][1] != reviews[j][1]
    ]


def pad_reviews(
    reviews: Sequence[Sequence[str]], vocab: Sequence[str], side: str = "right", length: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Word ids ``(N, T)`` padded with the id of ``PAD`` (``vocab[0]``), and the lengths ``(N,)``.

    ``side="right"`` puts the padding after the words, ``"left"`` before them (as the Udacity
    notebook does). ``T`` is the longest review, or ``length`` if given (at least as long).
    """
    if not vocab or vocab[0] != PAD:
        raise ValueError(f"vocab[0] must be the padding token {PAD!r}")
    if side not in ("right", "left"):
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    if not reviews or any(isinstance(r, str) or len(r) == 0 for r in reviews):
        raise ValueError("reviews must be a non-empty list of non-empty word lists")
    index = {w: i for i, w in enumerate(vocab)}
    unknown = sorted({w for r in reviews for w in r if w not in index})
    if unknown:
        raise ValueError(f"words missing from vocab: {unknown}")
    lengths = torch.tensor([len(r) for r in reviews])
    width = int(lengths.max()) if length is None else positive_int("length", length)
    if width < int(lengths.max()):
        raise ValueError(f"length {width} is shorter than the longest review ({int(lengths.max())})")
    ids = torch.zeros(len(reviews), width, dtype=torch.int64)
    for n, r in enumerate(reviews):
        row = torch.tensor([index[w] for w in r])
        if side == "right":
            ids[n, : len(r)] = row
        else:
            ids[n, width - len(r) :] = row
    return ids, lengths


def last_real_step(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``outputs[n, lengths[n] - 1]`` for every ``n``: the output ``(N, H)`` at each last real token.

    ``outputs`` is a batch-first ``(N, T, H)`` tensor of a right-padded batch.
    """
    if not isinstance(outputs, torch.Tensor) or outputs.dim() != 3:
        raise ValueError("outputs must be a (N, T, H) tensor")
    lengths = torch.as_tensor(lengths)
    if lengths.shape != outputs.shape[:1]:
        raise ValueError(f"lengths must have shape ({outputs.shape[0]},), got {tuple(lengths.shape)}")
    if bool((lengths < 1).any()) or bool((lengths > outputs.shape[1]).any()):
        raise ValueError(f"lengths must lie in 1..{outputs.shape[1]}")
    rows = torch.arange(outputs.shape[0], device=outputs.device)
    return outputs[rows, lengths.to(outputs.device) - 1]


class SentimentRNN(nn.Module):
    """Word ids -> ``nn.Embedding`` -> ``nn.LSTM`` -> ``nn.Linear`` to one logit per review.

    ``forward(ids, lengths)`` packs the right-padded batch, so every direction stops at the last
    real token: the logit is read from the final state ``[forward h at the last word; backward h
    at the first word]`` (the second half only if ``bidirectional``). With ``lengths=None`` it
    reads the outputs at the last step of the padded tensor instead, pads included: the mistake
    the chapter shows. The sigmoid of the logit is the probability of a positive review.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int, bidirectional: bool = False):
        super().__init__()
        positive_ints(vocab_size=vocab_size, embed_dim=embed_dim, hidden_size=hidden_size)
        if not isinstance(bidirectional, bool):
            raise TypeError(f"bidirectional must be a bool, got {type(bidirectional).__name__}")
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear(hidden_size * (2 if bidirectional else 1), 1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(N,)`` for word ids ``(N, T)``; ``lengths`` ``(N,)`` of a right-padded batch."""
        if not isinstance(ids, torch.Tensor) or ids.dim() != 2 or ids.dtype != torch.int64:
            raise ValueError("ids must be an int64 tensor of shape (N, T)")
        x = self.embedding(ids)
        if lengths is None:
            outputs, _ = self.lstm(x)
            return self.out(outputs[:, -1]).squeeze(-1)
        packed = pack_padded_sequence(
            x, torch.as_tensor(lengths).cpu(), batch_first=True, enforce_sorted=False
        )
        _, (h_n, _) = self.lstm(packed)
        return self.out(torch.cat(list(h_n), dim=-1)).squeeze(-1)
