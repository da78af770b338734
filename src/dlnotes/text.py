"""Words as numbers: tokens, a vocabulary, word2vec's training examples, co-occurrence counts.

- ``tokenize``, ``build_vocab`` and ``encode`` turn a text into word ids (0 = most frequent word).
- ``skipgram_pairs`` lists every (centre, context) pair within a window; ``context_windows`` gives
  one row per position with a full window, the examples of CBOW (and of skip-gram, read the
  other way round).
- ``cooccurrence`` counts how often word ``j`` appears within the window around word ``i``: the
  matrix ``X`` that GloVe starts from.
- ``Word2Vec`` holds word2vec's two weight matrices; ``skipgram_loss`` and ``cbow_loss`` are its
  two training objectives with a full softmax; ``adagrad_step`` updates the weights.
- ``euclidean_distance``, ``cosine_similarity`` and ``nearest_neighbours`` compare embeddings.

``tests/test_text.py`` checks each against an independent computation (``collections.Counter``,
``scipy.spatial.distance``, ``torch.nn.functional``, ``torch.optim.Adagrad``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import float_tensor, positive_int

__all__ = [
    "tokenize",
    "build_vocab",
    "encode",
    "skipgram_pairs",
    "context_windows",
    "cooccurrence",
    "Word2Vec",
    "skipgram_loss",
    "cbow_loss",
    "adagrad_step",
    "euclidean_distance",
    "cosine_similarity",
    "nearest_neighbours",
]

_WORD = re.compile(r"[a-z]+")


def tokenize(text: str) -> list[str]:
    """Lower-case the text and keep its runs of letters ``a-z`` as words, in order.

    Digits, punctuation and underscores separate words: ``"__init__(self)"`` gives
    ``["init", "self"]``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _WORD.findall(text.lower())


def build_vocab(tokens: Sequence[str], max_size: int | None = None, min_count: int = 1) -> list[str]:
    """The distinct tokens, most frequent first (ties in alphabetical order).

    Keeps at most ``max_size`` words and only words seen at least ``min_count`` times. A word's
    position in the list is its id.
    """
    if isinstance(tokens, str) or not all(isinstance(w, str) for w in tokens):
        raise TypeError("tokens must be a sequence of str (use tokenize(text) first)")
    if max_size is not None:
        positive_int("max_size", max_size)
    positive_int("min_count", min_count)
    counts = Counter(tokens)
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return words[:max_size]


def encode(tokens: Iterable[str], vocab: Sequence[str]) -> torch.Tensor:
    """The ids of ``tokens`` in ``vocab`` as a 1-D ``int64`` tensor; unknown words are dropped.

    Dropping a word brings its neighbours together, as word2vec does with rare words.
    """
    if isinstance(tokens, str):
        raise TypeError("tokens must be a sequence of str, not one str (use tokenize(text) first)")
    index = {w: i for i, w in enumerate(vocab)}
    if len(index) != len(vocab):
        raise ValueError("vocab must not contain a word twice")
    return torch.tensor([index[w] for w in tokens if w in index], dtype=torch.int64)


def _ids(ids: object) -> torch.Tensor:
    if (
        not isinstance(ids, torch.Tensor)
        or ids.dim() != 1
        or ids.is_floating_point()
        or ids.dtype == torch.bool
    ):
        raise TypeError("ids must be a 1-D integer tensor of word ids (see encode)")
    if len(ids) and ids.min() < 0:
        raise ValueError("ids must be non-negative")
    return ids


def _offsets(window: int) -> torch.Tensor:
    positive_int("window", window)
    return torch.tensor([o for o in range(-window, window + 1) if o != 0])


def skipgram_pairs(ids: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (centre, context) pair of word ids at most ``window`` positions apart.

    Returns two 1-D tensors of equal length, ordered by the centre's position and then by the
    offset (``-window, ..., -1, 1, ..., window``). Near the ends of the text a centre has fewer
    context words: nothing is padded.
    """
    ids = _ids(ids)
    offsets = _offsets(window)
    positions = torch.arange(len(ids))[:, None]
    partner = positions + offsets[None, :]
    inside = (partner >= 0) & (partner < len(ids))
    centres = ids[positions.expand_as(partner)[inside]]
    return centres, ids[partner[inside]]


def context_windows(ids: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``window`` words on each side of every position that has a full window.

    Returns ``(contexts, centres)``: ``contexts`` has shape ``(M, 2 * window)`` (left words, then
    right words) and ``centres`` shape ``(M,)``, with ``M = len(ids) - 2 * window``. CBOW predicts
    ``centres`` from ``contexts``; skip-gram predicts each column of ``contexts`` from ``centres``.
    """
    ids = _ids(ids)
    offsets = _offsets(window)
    if len(ids) <= 2 * window:
        raise ValueError(f"need more than 2 * window = {2 * window} ids, got {len(ids)}")
    positions = torch.arange(window, len(ids) - window)
    return ids[positions[:, None] + offsets[None, :]], ids[positions]


def cooccurrence(ids: torch.Tensor, vocab_size: int, window: int, weighting: str = "count") -> torch.Tensor:
    """The co-occurrence matrix ``X``: ``X[i, j]`` sums over every time word ``j`` appears within
    ``window`` positions of word ``i``.

    ``weighting="count"`` adds 1 per occurrence (the plain count); ``"harmonic"`` adds ``1/d`` for
    words ``d`` positions apart, as GloVe does. A symmetric window makes ``X`` symmetric, and
    ``X.sum()`` is the number of pairs ``skipgram_pairs`` returns. Float32, shape ``(V, V)``.
    """
    ids = _ids(ids)
    positive_int("vocab_size", vocab_size)
    if len(ids) and ids.max() >= vocab_size:
        raise ValueError(f"ids must be smaller than vocab_size = {vocab_size}, got {int(ids.max())}")
    if weighting not in ("count", "harmonic"):
        raise ValueError(f"weighting must be 'count' or 'harmonic', got {weighting!r}")
    X = torch.zeros(vocab_size, vocab_size)
    for offset in _offsets(window).tolist():
        lo, hi = max(0, -offset), min(len(ids), len(ids) - offset)
        if hi <= lo:
            continue
        weight = 1.0 if weighting == "count" else 1.0 / abs(offset)
        X.index_put_(
            (ids[lo:hi], ids[lo + offset : hi + offset]), torch.full((hi - lo,), weight), accumulate=True
        )
    return X


class Word2Vec(nn.Module):
    """word2vec's two weight matrices: the input embeddings and the output (softmax) layer.

    ``embed`` (a ``(V, d)`` lookup table, the matrix kept after training) maps a word id to its
    ``d``-dimensional vector; there is no activation function. ``out`` maps a vector to ``V``
    scores, one per word, turned into probabilities by a softmax; it serves only the training.
    Both start as small Gaussian noise (std 0.1) drawn from the global CPU generator.
    """

    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__()
        positive_int("vocab_size", vocab_size)
        positive_int("dim", dim)
        self.embed = nn.Embedding(vocab_size, dim)
        self.out = nn.Linear(dim, vocab_size)
        with torch.no_grad():
            self.embed.weight.normal_(0.0, 0.1)
            self.out.weight.normal_(0.0, 0.1)
            self.out.bias.zero_()

    def forward(self, words: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``(..., V)`` of every word given ``words``.

        ``words`` of shape ``(B,)`` is one word per example (skip-gram: the centre); shape
        ``(B, C)`` is ``C`` words per example whose vectors are averaged (CBOW: the context).
        """
        if not isinstance(words, torch.Tensor) or words.is_floating_point() or words.dim() not in (1, 2):
            raise TypeError("words must be a 1-D or 2-D integer tensor of word ids")
        h = self.embed(words)
        if words.dim() == 2:
            h = h.mean(dim=1)
        return F.log_softmax(self.out(h), dim=-1)


def skipgram_loss(model: Word2Vec, centres: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
    """Skip-gram's loss: the mean of ``-log p(context | centre)`` over every pair.

    ``centres`` has shape ``(B,)``; ``contexts`` shape ``(B,)`` (one pair per row) or ``(B, C)``
    (``C`` context words per centre, which share one softmax).
    """
    logp = model(centres)
    if contexts.dim() == 1:
        contexts = contexts[:, None]
    if contexts.shape[0] != centres.shape[0]:
        raise ValueError(
            f"centres and contexts need the same length, got {centres.shape[0]} and {contexts.shape[0]}"
        )
    return -logp.gather(1, contexts).mean()


def cbow_loss(model: Word2Vec, contexts: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """CBOW's loss: the mean of ``-log p(centre | average of the context vectors)``."""
    if contexts.dim() != 2 or contexts.shape[0] != centres.shape[0]:
        raise ValueError("contexts must have shape (B, C) and centres shape (B,)")
    return F.nll_loss(model(contexts), centres)


def adagrad_step(
    params: Sequence[torch.Tensor], sums: Sequence[torch.Tensor], lr: float, eps: float = 1e-10
) -> None:
    """One AdaGrad step (Duchi et al. 2011), in place, for every parameter ``w`` with gradient ``g``.

    ``s <- s + g**2`` and ``w <- w - lr * g / (sqrt(s) + eps)``.
    Every weight gets its own step size, which shrinks as its squared gradients add up: a rare
    word's vector, seldom updated, keeps large steps. ``sums`` holds one running sum per
    parameter (start them at zero); parameters without a gradient are skipped. The same update
    as ``torch.optim.Adagrad(params, lr, eps=eps)``.
    """
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if len(params) != len(sums):
        raise ValueError(f"need one sum per parameter, got {len(params)} parameters and {len(sums)} sums")
    with torch.no_grad():
        for w, s in zip(params, sums):
            if w.grad is None:
                continue
            s.add_(w.grad**2)
            w.sub_(lr * w.grad / (s.sqrt() + eps))


def euclidean_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``sqrt(sum_i (x_i - y_i)**2)`` along the last dimension (broadcasting the others)."""
    x, y = float_tensor("x", x), float_tensor("y", y)
    return ((x - y) ** 2).sum(dim=-1).sqrt()


def cosine_similarity(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``sum_i x_i y_i / (sqrt(sum_i x_i**2) sqrt(sum_i y_i**2))`` along the last dimension.

    The cosine of the angle between ``x`` and ``y``: 1 for the same direction, 0 for orthogonal
    vectors, -1 for opposite ones; lengths do not matter. ``eps`` guards against a zero vector.
    """
    x, y = float_tensor("x", x), float_tensor("y", y)
    dot = (x * y).sum(dim=-1)
    return dot / (x.norm(dim=-1) * y.norm(dim=-1)).clamp(min=eps)


def nearest_neighbours(
    embeddings: torch.Tensor, query: int, k: int = 5, metric: str = "cosine"
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` rows of ``embeddings`` nearest to row ``query`` (itself excluded).

    ``metric="cosine"`` ranks by decreasing cosine similarity, ``"euclidean"`` by increasing
    Euclidean distance. Returns ``(indices, scores)``, best first; ties go to the lower index.
    """
    embeddings = float_tensor("embeddings", embeddings)
    if embeddings.dim() != 2:
        raise ValueError(f"embeddings must be a 2-D (words, dim) tensor, got shape {tuple(embeddings.shape)}")
    n = embeddings.shape[0]
    if isinstance(query, bool) or not isinstance(query, int) or not 0 <= query < n:
        raise ValueError(f"query must be a row index in [0, {n}), got {query!r}")
    positive_int("k", k)
    if k >= n:
        raise ValueError(f"k must be smaller than the number of rows ({n}), got {k}")
    if metric == "cosine":
        scores = cosine_similarity(embeddings, embeddings[query][None, :])
        key = -scores
    elif metric == "euclidean":
        scores = euclidean_distance(embeddings, embeddings[query][None, :])
        key = scores.clone()
    else:
        raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")
    key[query] = float("inf")
    order = torch.sort(key, stable=True).indices[:k]
    return order, scores[order]
