"""Skip-gram with negative sampling (SGNS), the fast way word2vec is trained (Mikolov et al. 2013b).

- ``noise_distribution`` turns word counts into the noise distribution ``P_n(w)`` proportional to
  ``count(w) ** power`` (word2vec uses ``power = 0.75``).
- ``draw_negatives`` draws noise words from it with a CPU ``torch.Generator``.
- ``keep_probability`` and ``subsample`` drop occurrences of frequent words: an occurrence of a
  word with relative frequency ``f`` is kept with probability ``min(1, sqrt(threshold / f))``.
- ``negative_sampling_loss`` is the SGNS loss of a batch of (centre, context) pairs and their
  noise words; ``SkipGramNS`` holds its two embedding tables (input and output vectors).

``tests/test_negsampling.py`` checks each against an independent computation (NumPy,
``F.logsigmoid``, ``collections.Counter``, a direct loop).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import float_tensor, positive_int

__all__ = [
    "noise_distribution",
    "draw_negatives",
    "keep_probability",
    "subsample",
    "negative_sampling_loss",
    "SkipGramNS",
]


def _counts(counts: object) -> torch.Tensor:
    if not isinstance(counts, torch.Tensor) or counts.dim() != 1 or counts.dtype == torch.bool:
        raise TypeError("counts must be a 1-D tensor with one count per word")
    if len(counts) == 0:
        raise ValueError("counts must not be empty")
    if (counts < 0).any() or counts.sum() <= 0:
        raise ValueError("counts must be non-negative with a positive sum")
    return counts.double()


def _generator(generator: object) -> torch.Generator:
    if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise TypeError("generator must be a CPU torch.Generator (draw on the CPU, then move the result)")
    return generator


def noise_distribution(counts: torch.Tensor, power: float = 0.75) -> torch.Tensor:
    """``P_n(w) = count(w) ** power / sum_v count(v) ** power``, as float64.

    ``power = 1`` is the unigram distribution, ``power = 0`` the uniform one (over the words with a
    positive count); word2vec's ``0.75`` lies in between and gives rare words more noise samples
    than their frequency alone would.
    """
    counts = _counts(counts)
    if isinstance(power, bool) or not isinstance(power, (int, float)) or not 0 <= power <= 1:
        raise ValueError(f"power must be a number in [0, 1], got {power!r}")
    weights = torch.where(counts > 0, counts**power, torch.zeros_like(counts))
    return weights / weights.sum()


def draw_negatives(noise: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Word ids of ``shape`` drawn independently (with replacement) from the distribution ``noise``.

    Uses ``torch.multinomial`` with the CPU ``generator``, so the draw is the same on every device.
    Like word2vec, it does not exclude the true context word: with a large vocabulary that is rare.
    """
    noise = float_tensor("noise", noise)
    if noise.dim() != 1 or (noise < 0).any() or not torch.isclose(noise.sum(), noise.new_tensor(1.0)):
        raise ValueError("noise must be a 1-D probability vector (non-negative, summing to 1)")
    if not isinstance(shape, tuple) or not shape:
        raise TypeError(f"shape must be a non-empty tuple of positive ints, got {shape!r}")
    for n in shape:
        positive_int("every entry of shape", n)
    n_total = 1
    for n in shape:
        n_total *= n
    draws = torch.multinomial(noise.cpu(), n_total, replacement=True, generator=_generator(generator))
    return draws.reshape(shape)


def keep_probability(counts: torch.Tensor, threshold: float = 1e-3) -> torch.Tensor:
    """The probability of keeping one occurrence of each word: ``min(1, sqrt(threshold / f))``.

    ``f = count / total`` is the word's relative frequency. Mikolov et al. (2013b) discard an
    occurrence with probability ``1 - sqrt(threshold / f)``, so words rarer than ``threshold`` are
    always kept and a word ``m`` times more frequent than it keeps about ``1 / sqrt(m)`` of its
    occurrences. (The word2vec C code uses a slightly different formula.)
    """
    counts = _counts(counts)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise ValueError(f"threshold must be a number in (0, 1], got {threshold!r}")
    freq = counts / counts.sum()
    keep = torch.ones_like(freq)
    seen = freq > 0
    keep[seen] = (threshold / freq[seen]).sqrt().clamp(max=1.0)
    return keep


def subsample(ids: torch.Tensor, keep: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The ids that survive subsampling: position ``i`` is kept with probability ``keep[ids[i]]``.

    One uniform number per position from the CPU ``generator``; the survivors keep their order, so
    words on either side of a dropped word become neighbours.
    """
    if (
        not isinstance(ids, torch.Tensor)
        or ids.dim() != 1
        or ids.is_floating_point()
        or ids.dtype == torch.bool
    ):
        raise TypeError("ids must be a 1-D integer tensor of word ids")
    keep = float_tensor("keep", keep)
    if keep.dim() != 1 or (keep < 0).any() or (keep > 1).any():
        raise ValueError("keep must be a 1-D tensor of probabilities in [0, 1]")
    if len(ids) and (ids.min() < 0 or ids.max() >= len(keep)):
        raise ValueError(f"ids must lie in [0, {len(keep)}), one keep probability per word")
    u = torch.rand(len(ids), generator=_generator(generator), dtype=torch.float64)
    return ids[u < keep.double().cpu()[ids.cpu()]].to(ids.device)


def negative_sampling_loss(
    centre: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor
) -> torch.Tensor:
    """The SGNS loss, averaged over the batch:
    ``-log sigmoid(u_o . v_c) - sum_k log sigmoid(-u_k . v_c)``.

    ``centre`` holds the input vectors ``v_c`` ``(B, d)``, ``context`` the output vectors ``u_o`` of
    the true context words ``(B, d)`` and ``negatives`` the output vectors ``u_k`` of the noise
    words ``(B, k, d)``. Each pair is a binary classification: the true context word is labelled 1,
    each noise word 0, and the loss is their summed binary cross-entropy on the logits
    ``u . v_c``.
    """
    centre, context = float_tensor("centre", centre), float_tensor("context", context)
    negatives = float_tensor("negatives", negatives)
    if centre.dim() != 2 or context.shape != centre.shape:
        raise ValueError(
            "centre and context must both have shape (B, d), "
            f"got {tuple(centre.shape)} and {tuple(context.shape)}"
        )
    if negatives.dim() != 3 or negatives.shape[0] != centre.shape[0] or negatives.shape[2] != centre.shape[1]:
        raise ValueError(
            f"negatives must have shape (B, k, d) = ({centre.shape[0]}, k, {centre.shape[1]}), "
            f"got {tuple(negatives.shape)}"
        )
    positive = (centre * context).sum(-1)
    negative = torch.bmm(negatives, centre[:, :, None])[:, :, 0]
    logits = torch.cat([positive[:, None], negative], dim=1)
    labels = torch.zeros_like(logits)
    labels[:, 0] = 1.0
    return F.binary_cross_entropy_with_logits(logits, labels, reduction="none").sum(1).mean()


class SkipGramNS(nn.Module):
    """Skip-gram with negative sampling: two ``(V, d)`` embedding tables and no softmax.

    ``in_embed`` holds the input vectors ``v_w`` (a word as the centre; the embeddings kept after
    training) and ``out_embed`` the output vectors ``u_w`` (a word as a context or noise word; the
    "second embedding layer"). Both start as Gaussian noise with standard deviation ``init_std``
    drawn from the global CPU generator (seed it before building the model).
    """

    def __init__(self, vocab_size: int, dim: int, init_std: float = 0.1) -> None:
        super().__init__()
        positive_int("vocab_size", vocab_size)
        positive_int("dim", dim)
        if isinstance(init_std, bool) or not isinstance(init_std, (int, float)) or init_std <= 0:
            raise ValueError(f"init_std must be a positive number, got {init_std!r}")
        self.in_embed = nn.Embedding(vocab_size, dim)
        self.out_embed = nn.Embedding(vocab_size, dim)
        with torch.no_grad():
            self.in_embed.weight.normal_(0.0, init_std)
            self.out_embed.weight.normal_(0.0, init_std)

    def forward(self, centres: torch.Tensor, contexts: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        """The SGNS loss of word ids ``centres`` ``(B,)``, ``contexts`` ``(B,)``, ``negatives`` ``(B, k)``."""
        for name, t, dims in [
            ("centres", centres, 1),
            ("contexts", contexts, 1),
            ("negatives", negatives, 2),
        ]:
            if not isinstance(t, torch.Tensor) or t.is_floating_point() or t.dim() != dims:
                raise TypeError(f"{name} must be a {dims}-D integer tensor of word ids")
        return negative_sampling_loss(
            self.in_embed(centres), self.out_embed(contexts), self.out_embed(negatives)
        )
