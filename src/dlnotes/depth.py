"""Why depth helps, few-shot learning with a siamese network, and subword (fastText) embeddings.

Depth (Telgarsky 2016; Montufar et al. 2014):

- ``tent`` is the tent map ``t(x) = 2 min(x, 1 - x)`` on ``[0, 1]``; ``sawtooth(x, k)`` composes it
  ``k`` times, a function with ``2 ** k`` linear pieces.
- ``tent_net(k)`` computes ``sawtooth(., k)`` exactly with ``k`` hidden ReLU layers of 2 units;
  ``shallow_sawtooth(k)`` computes the same function with ONE hidden layer, which needs
  ``2 ** k`` units (a hidden layer of ``m`` ReLUs in 1-D gives at most ``m + 1`` pieces,
  ``max_pieces_one_layer``).
- ``breakpoints`` finds the kinks of a 1-D ReLU network exactly, layer by layer;
  ``count_pieces`` counts its linear pieces, and ``pieces_on_grid`` counts them from a dense
  evaluation instead (the check).

Few-shot learning (Koch et al. 2015):

- ``SiameseNet`` embeds two inputs with the same network and scores the pair (a logit for "same
  class") by the cosine of the L2-normalised embeddings, or by Koch et al.'s weighted L1 distance
  of sigmoid embeddings; ``sample_pairs`` draws training pairs,
  half of them from the same class; ``sample_episode`` draws an N-way K-shot episode and
  ``nearest_support`` classifies the queries by their most similar support example.

Subwords (Bojanowski et al. 2017):

- ``char_ngrams`` lists a word's character n-grams with the boundary symbols ``<`` and ``>``
  (``"where"``, n = 3: ``<wh, whe, her, ere, re>``) plus the whole word ``<where>``;
  ``fnv1a`` is the 32-bit FNV-1a hash fastText maps n-grams to buckets with; ``subword_ids`` gives
  the rows of a word: its own row (if in the vocabulary) and one hashed row per n-gram;
  ``SubwordSkipGram`` is skip-gram with negative sampling whose input vector of a word is the SUM
  of those rows, so that the score is ``s(w, c) = sum_g z_g . v_c``.

``tests/test_depth.py`` checks each against an independent computation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ._checks import float_tensor, positive_int
from .negsampling import negative_sampling_loss

__all__ = [
    "tent",
    "sawtooth",
    "tent_net",
    "shallow_sawtooth",
    "max_pieces_one_layer",
    "breakpoints",
    "count_pieces",
    "pieces_on_grid",
    "SiameseNet",
    "sample_pairs",
    "sample_episode",
    "nearest_support",
    "char_ngrams",
    "fnv1a",
    "subword_ids",
    "SubwordSkipGram",
    "bags",
]


# --------------------------------------------------------------------------------------------
# depth: the sawtooth
# --------------------------------------------------------------------------------------------
def tent(x: torch.Tensor) -> torch.Tensor:
    """The tent map ``t(x) = 2 min(x, 1 - x)``: it maps ``[0, 1]`` onto itself, folding at 1/2."""
    x = float_tensor("x", x)
    return 2 * torch.minimum(x, 1 - x)


def sawtooth(x: torch.Tensor, k: int) -> torch.Tensor:
    """The tent map composed ``k`` times (``k = 0``: the identity); ``2 ** k`` pieces on [0, 1]."""
    x = float_tensor("x", x)
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be an int >= 0, got {k!r}")
    for _ in range(k):
        x = tent(x)
    return x


def tent_net(k: int) -> nn.Sequential:
    """A ReLU network with ``k`` hidden layers of 2 units that computes ``sawtooth(x, k)`` on [0, 1].

    Each hidden layer computes ``relu(y)`` and ``relu(y - 1/2)`` of the previous tent value ``y``;
    the next layer (or the output) forms ``t(y) = 2 relu(y) - 4 relu(y - 1/2)``, which is the tent
    map for ``y`` in [0, 1]. Input shape ``(N, 1)``, output ``(N, 1)``; float32 weights (all
    exactly representable).
    """
    positive_int("k", k)
    layers: list[nn.Module] = []
    for i in range(k):
        layer = nn.Linear(1 if i == 0 else 2, 2)
        with torch.no_grad():
            if i == 0:
                layer.weight.copy_(torch.tensor([[1.0], [1.0]]))
            else:
                layer.weight.copy_(torch.tensor([[2.0, -4.0], [2.0, -4.0]]))
            layer.bias.copy_(torch.tensor([0.0, -0.5]))
        layers += [layer, nn.ReLU()]
    out = nn.Linear(2, 1)
    with torch.no_grad():
        out.weight.copy_(torch.tensor([[2.0, -4.0]]))
        out.bias.zero_()
    return nn.Sequential(*layers, out)


def shallow_sawtooth(k: int) -> nn.Sequential:
    """A ReLU network with ONE hidden layer of ``2 ** k`` units that computes ``sawtooth(x, k)``.

    Unit ``j`` computes ``relu(x - j / 2 ** k)``; the output weights are the changes of slope at
    the kinks: ``+2 ** k`` for the first unit (the first piece rises), then alternately
    ``-2 ** (k + 1)`` and ``+2 ** (k + 1)``.
    """
    positive_int("k", k)
    m = 2**k
    hidden, out = nn.Linear(1, m), nn.Linear(m, 1)
    slopes = torch.tensor([float(m) * (-1) ** j for j in range(m)])
    with torch.no_grad():
        hidden.weight.fill_(1.0)
        hidden.bias.copy_(-torch.arange(m, dtype=torch.float32) / m)
        out.weight.copy_(torch.cat([slopes[:1], slopes[1:] - slopes[:-1]])[None])
        out.bias.zero_()
    return nn.Sequential(hidden, nn.ReLU(), out)


def max_pieces_one_layer(m: int) -> int:
    """The most linear pieces a 1-D ReLU network with one hidden layer of ``m`` units can have.

    Each unit ``relu(w x + b)`` has at most one kink, at ``x = -b / w``; the output is affine
    between consecutive kinks, so there are at most ``m`` kinks and ``m + 1`` pieces.
    """
    return positive_int("m", m) + 1


def _relu_layers(net: nn.Sequential) -> list[nn.Linear]:
    if not isinstance(net, nn.Sequential):
        raise TypeError(f"net must be an nn.Sequential of Linear and ReLU layers, got {type(net).__name__}")
    linears = []
    for i, layer in enumerate(net):
        expected = nn.Linear if i % 2 == 0 else nn.ReLU
        if not isinstance(layer, expected):
            raise TypeError("net must alternate nn.Linear and nn.ReLU and end with nn.Linear")
        if isinstance(layer, nn.Linear):
            linears.append(layer)
    if len(net) % 2 == 0 or linears[0].in_features != 1 or linears[-1].out_features != 1:
        raise ValueError("net must map one input to one output and end with nn.Linear")
    return linears


def breakpoints(net: nn.Sequential, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """The kinks of a 1-D ReLU network on ``[lo, hi]``, found exactly, with the two ends.

    Between consecutive known kinks every pre-activation of the next layer is affine in ``x``, so
    a unit's kink lies where its pre-activation changes sign, at the root of the line through its
    values at the two ends. Layer by layer this finds every point where some unit switches; a
    switch that does not change the output's slope is kept here (``count_pieces`` merges it).
    Computed in float64.
    """
    linears = _relu_layers(net)
    if not (isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo < hi):
        raise ValueError(f"need numbers lo < hi, got {lo!r} and {hi!r}")
    ws = [lin.weight.detach().double().cpu().numpy() for lin in linears]
    bs = [lin.bias.detach().double().cpu().numpy() for lin in linears]
    points = np.array([float(lo), float(hi)])
    for depth in range(len(linears) - 1):
        h = points[:, None]
        for w, b in zip(ws[:depth], bs[:depth]):
            h = np.maximum(h @ w.T + b, 0.0)
        z = h @ ws[depth].T + bs[depth]
        za, zb = z[:-1], z[1:]
        cross = (za * zb) < 0
        a, b_ = points[:-1, None], points[1:, None]
        roots = (a + (b_ - a) * za / np.where(cross, za - zb, 1.0))[cross]
        points = np.unique(np.concatenate([points, roots]))
    return points


def count_pieces(net: nn.Sequential, lo: float = 0.0, hi: float = 1.0, rtol: float = 1e-9) -> int:
    """The number of linear pieces of a 1-D ReLU network on ``[lo, hi]`` (from ``breakpoints``).

    Adjacent intervals between kinks whose slopes agree (relative tolerance ``rtol``) are one
    piece.
    """
    points = breakpoints(net, lo, hi)
    linears = _relu_layers(net)
    h = points[:, None]
    for i, lin in enumerate(linears):
        h = h @ lin.weight.detach().double().cpu().numpy().T + lin.bias.detach().double().cpu().numpy()
        if i < len(linears) - 1:
            h = np.maximum(h, 0.0)
    slopes = np.diff(h[:, 0]) / np.diff(points)
    scale = max(1.0, float(np.abs(slopes).max()))
    return 1 + int((np.abs(np.diff(slopes)) > rtol * scale).sum())


def pieces_on_grid(x: torch.Tensor, y: torch.Tensor, tol: float = 1e-6) -> int:
    """The number of linear pieces of a piecewise-linear function seen only at grid points.

    ``x`` must be increasing. The slope between neighbouring points changes at a kink: a kink on a
    grid point changes it once, a kink inside a grid cell gives that cell an intermediate slope
    and so two changes in a row. Each run of consecutive changes counts as one kink, so the
    count is right when kinks are more than two grid cells apart.
    """
    x, y = float_tensor("x", x).double().flatten(), float_tensor("y", y).double().flatten()
    if len(x) != len(y) or len(x) < 3 or not (torch.diff(x) > 0).all():
        raise ValueError("x and y must have the same length >= 3, with x increasing")
    slopes = torch.diff(y) / torch.diff(x)
    change = (torch.diff(slopes).abs() > tol * max(1.0, slopes.abs().max().item())).numpy()
    starts = change & ~np.concatenate([[False], change[:-1]])
    return 1 + int(starts.sum())


# --------------------------------------------------------------------------------------------
# few-shot learning: a siamese network
# --------------------------------------------------------------------------------------------
class SiameseNet(nn.Module):
    """Twin embedding networks with shared weights, joined by a similarity head.

    ``embed`` is an MLP ``in_features -> hidden -> dim`` with a ReLU in between. ``forward(x1, x2)``
    returns one logit of "same class" per pair; ``similarity(xq, xs)`` returns the ``(Q, S)``
    matrix of the same logits between every query and every support example. Two heads:

    - ``head="cosine"`` (default): the embedding is L2-normalised (a point on the unit sphere) and
      the logit is ``scale * cos(f(x1), f(x2)) + b`` with a learned ``scale`` and ``b``.
    - ``head="l1"`` (Koch et al. 2015): a sigmoid on the embedding and the logit
      ``sum_j alpha_j |f(x1)_j - f(x2)_j| + b`` with learned weights ``alpha`` of either sign.
    """

    def __init__(self, in_features: int = 64, hidden: int = 128, dim: int = 32, head: str = "cosine") -> None:
        super().__init__()
        positive_int("in_features", in_features)
        positive_int("hidden", hidden)
        positive_int("dim", dim)
        if head not in ("cosine", "l1"):
            raise ValueError(f"head must be 'cosine' or 'l1', got {head!r}")
        self.kind = head
        layers = [nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, dim)]
        self.embed = nn.Sequential(*layers, nn.Sigmoid()) if head == "l1" else nn.Sequential(*layers)
        self.head = nn.Linear(dim, 1) if head == "l1" else nn.Linear(1, 1)
        if head == "cosine":
            with torch.no_grad():
                self.head.weight.fill_(5.0)
                self.head.bias.fill_(-2.0)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding ``f(x)``: unit-length rows for the cosine head, sigmoid outputs for L1."""
        f = self.embed(float_tensor("x", x))
        return nn.functional.normalize(f, dim=-1) if self.kind == "cosine" else f

    def _logit(self, fa: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:
        if self.kind == "cosine":
            return self.head((fa * fb).sum(-1, keepdim=True))[..., 0]
        return self.head((fa - fb).abs())[..., 0]

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        x1, x2 = float_tensor("x1", x1), float_tensor("x2", x2)
        if x1.shape != x2.shape:
            raise ValueError(
                f"x1 and x2 must have the same shape, got {tuple(x1.shape)} and {tuple(x2.shape)}"
            )
        return self._logit(self.features(x1), self.features(x2))

    def similarity(self, xq: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
        fq, fs = self.features(float_tensor("xq", xq)), self.features(float_tensor("xs", xs))
        return self._logit(fq[:, None, :], fs[None, :, :])


def _labels(y: object) -> torch.Tensor:
    if not isinstance(y, torch.Tensor) or y.dim() != 1 or y.is_floating_point() or y.dtype == torch.bool:
        raise TypeError("y must be a 1-D integer tensor of class labels")
    return y.cpu()


def _cpu_generator(generator: object) -> torch.Generator:
    if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise TypeError("generator must be a CPU torch.Generator")
    return generator


def sample_pairs(
    y: torch.Tensor, n: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` pairs of example indices ``(i, j, same)``: the first half same-class, the rest not.

    ``i`` is uniform over the examples; ``j`` is uniform over the other examples of ``i``'s class
    (first half) or over the examples of the other classes (second half). ``same`` is a float
    tensor of 1s and 0s, the target of the siamese network.
    """
    y, n, g = _labels(y), positive_int("n", n), _cpu_generator(generator)
    classes = torch.unique(y)
    if len(classes) < 2 or min(int((y == c).sum()) for c in classes) < 2:
        raise ValueError("y needs at least two classes with at least two examples each")
    order = torch.argsort(y, stable=True)
    counts = torch.stack([(y == c).sum() for c in classes])
    starts = torch.cumsum(counts, 0) - counts
    cls = torch.searchsorted(classes, y)
    rank = torch.empty(len(y), dtype=torch.long)
    rank[order] = torch.arange(len(y)) - starts[cls[order]]
    i = torch.randint(len(y), (n,), generator=g)
    u = torch.rand(n, generator=g, dtype=torch.float64)
    same = torch.arange(n) < n // 2
    s_i, n_i = starts[cls[i]], counts[cls[i]]
    r_same = (u * (n_i - 1)).long()
    r_same = r_same + (r_same >= rank[i]).long()
    r_diff = (u * (len(y) - n_i)).long()
    r_diff = torch.where(r_diff < s_i, r_diff, r_diff + n_i)
    j = order[torch.where(same, s_i + r_same, r_diff)]
    return i, j, same.float()


def sample_episode(
    y: torch.Tensor, classes: Sequence[int], n_way: int, k_shot: int, n_query: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """An N-way K-shot episode: indices of the support set and of the query set.

    Draws ``n_way`` of ``classes``, then for each ``k_shot + n_query`` distinct examples: the first
    ``k_shot`` go to the support set, the rest to the queries (their labels are ``y[index]``).
    """
    y, g = _labels(y), _cpu_generator(generator)
    positive_int("n_way", n_way), positive_int("k_shot", k_shot), positive_int("n_query", n_query)
    classes = list(classes)
    if n_way > len(classes):
        raise ValueError(f"n_way = {n_way} but only {len(classes)} classes to draw from")
    chosen = [classes[int(c)] for c in torch.randperm(len(classes), generator=g)[:n_way]]
    support, query = [], []
    for c in chosen:
        pool = torch.nonzero(y == c)[:, 0]
        if len(pool) < k_shot + n_query:
            raise ValueError(f"class {c} has {len(pool)} examples, the episode needs {k_shot + n_query}")
        picked = pool[torch.randperm(len(pool), generator=g)[: k_shot + n_query]]
        support.append(picked[:k_shot])
        query.append(picked[k_shot:])
    return torch.cat(support), torch.cat(query)


def nearest_support(similarity: torch.Tensor, support_y: torch.Tensor) -> torch.Tensor:
    """The predicted class of each query: the label of its most similar support example.

    ``similarity`` is ``(Q, S)`` (higher = more alike: a logit, or minus a distance).
    """
    similarity, support_y = float_tensor("similarity", similarity), _labels(support_y)
    if similarity.dim() != 2 or similarity.shape[1] != len(support_y):
        raise ValueError(f"similarity must be (Q, {len(support_y)}), got {tuple(similarity.shape)}")
    return support_y[similarity.argmax(dim=1).cpu()]


# --------------------------------------------------------------------------------------------
# subwords: fastText
# --------------------------------------------------------------------------------------------
def _word(word: object) -> str:
    if not isinstance(word, str) or not word:
        raise TypeError(f"word must be a non-empty str, got {word!r}")
    return word


def char_ngrams(word: str, n_min: int = 3, n_max: int = 6, whole_word: bool = True) -> list[str]:
    """The character n-grams of ``<word>`` for ``n_min <= n <= n_max`` (Bojanowski et al. 2017).

    ``<`` and ``>`` mark the start and the end of the word, so prefixes and suffixes differ from
    the same letters inside a word. Ordered by start position, then by length (as fastText
    lists them); with ``whole_word`` the special sequence ``<word>`` is appended at the end (it
    can also occur among the n-grams when the word is short).
    """
    word = "<" + _word(word) + ">"
    positive_int("n_min", n_min), positive_int("n_max", n_max)
    if n_min > n_max:
        raise ValueError(f"n_min must be <= n_max, got {n_min} and {n_max}")
    grams = [word[i : i + n] for i in range(len(word)) for n in range(n_min, n_max + 1) if i + n <= len(word)]
    return grams + [word] if whole_word else grams


def fnv1a(text: str) -> int:
    """The 32-bit FNV-1a hash of ``text`` as fastText computes it.

    Start from 2166136261; for each byte of the UTF-8 encoding, XOR it in and multiply by the FNV
    prime 16777619 (mod 2**32). fastText XORs each byte as a signed ``int8`` widened to 32 bits,
    which differs from textbook FNV-1a only for non-ASCII bytes; this follows fastText.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    h = 2166136261
    for byte in text.encode("utf-8"):
        h ^= byte if byte < 128 else (byte - 256) & 0xFFFFFFFF
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def subword_ids(word: str, vocab: dict[str, int], buckets: int, n_min: int = 3, n_max: int = 6) -> list[int]:
    """The rows of ``word`` in a table of ``len(vocab) + buckets`` rows, as in fastText.

    A word of the vocabulary keeps its own row ``vocab[word]``; each of its n-grams (without the
    whole word) goes to row ``len(vocab) + fnv1a(g) % buckets``. A word outside the vocabulary
    has only its n-gram rows: this is how a vector for an unseen word is formed.
    """
    if not isinstance(vocab, dict):
        raise TypeError(f"vocab must be a dict from word to row, got {type(vocab).__name__}")
    positive_int("buckets", buckets)
    own = [vocab[word]] if word in vocab else []
    return own + [len(vocab) + fnv1a(g) % buckets for g in char_ngrams(word, n_min, n_max, whole_word=False)]


class SubwordSkipGram(nn.Module):
    """Skip-gram with negative sampling whose input vector of a word is the sum of its rows.

    ``in_embed`` is an ``nn.EmbeddingBag(rows, dim, mode="sum")`` over the word rows and the
    n-gram buckets (the vectors ``z_g``); ``out_embed`` holds the output vectors ``v_c`` of the
    ``vocab_size`` context words. The score of a (word, context) pair is
    ``s(w, c) = sum_{g in G_w} z_g . v_c``. Both tables start as Gaussian noise (std
    ``init_std``) from the global CPU generator.
    """

    def __init__(self, rows: int, vocab_size: int, dim: int, init_std: float = 0.1) -> None:
        super().__init__()
        positive_int("rows", rows), positive_int("vocab_size", vocab_size), positive_int("dim", dim)
        self.in_embed = nn.EmbeddingBag(rows, dim, mode="sum")
        self.out_embed = nn.Embedding(vocab_size, dim)
        with torch.no_grad():
            self.in_embed.weight.normal_(0.0, init_std)
            self.out_embed.weight.normal_(0.0, init_std)

    def word_vectors(self, flat_ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """One vector per word: the sum of its rows; word ``i``'s rows start at ``offsets[i]``."""
        return self.in_embed(flat_ids, offsets)

    def forward(
        self, flat_ids: torch.Tensor, offsets: torch.Tensor, contexts: torch.Tensor, negatives: torch.Tensor
    ) -> torch.Tensor:
        """The negative-sampling loss of centre words (as bags of rows) and their context ids."""
        return negative_sampling_loss(
            self.word_vectors(flat_ids, offsets), self.out_embed(contexts), self.out_embed(negatives)
        )


def bags(rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(flat_ids, offsets)`` for ``nn.EmbeddingBag`` from a list of row lists."""
    if not rows or any(len(r) == 0 for r in rows):
        raise ValueError("rows must be a non-empty list of non-empty lists of row ids")
    flat = torch.tensor([i for r in rows for i in r], dtype=torch.long)
    offsets = torch.tensor([0] + list(np.cumsum([len(r) for r in rows])[:-1]), dtype=torch.long)
    return flat, offsets
