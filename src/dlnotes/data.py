"""Every dataset the book uses, loaded offline, as tensors and DataLoaders.

Nothing here downloads: the data ships inside installed packages (scikit-learn, networkx, the
Python standard library) or is generated from a seed. Splits are seeded, so the same seed gives
the same train / validation / test indices on every machine. Every random draw here uses its own
CPU generator (never the global one, never a GPU's), so data, splits and the order of
mini-batches are identical whichever device the model trains on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

__all__ = [
    "Splits",
    "split_indices",
    "split_tensors",
    "standardize",
    "make_loaders",
    "digits",
    "digits_splits",
    "sample_photos",
    "breast_cancer",
    "toy_2d",
    "karate_club",
    "text_corpus",
    "sine_waves",
]


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")


def _cpu_generator(seed: int) -> torch.Generator:
    """A generator on the CPU, whatever the default device: the same draws on every machine."""
    return torch.Generator(device="cpu").manual_seed(int(seed))


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")


# --------------------------------------------------------------------------------------------
# splitting
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Splits:
    """Train / validation / test tensors: ``(x, y)`` pairs, each ``y`` may be ``None``."""

    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]

    def sizes(self) -> tuple[int, int, int]:
        """Number of examples in each split."""
        return len(self.train[0]), len(self.val[0]), len(self.test[0])


def split_indices(
    n: int, fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0
) -> list[torch.Tensor]:
    """Shuffle ``range(n)`` with ``seed`` and cut it into parts of the given ``fractions``.

    The fractions must be positive and sum to 1; the last part takes the rounding remainder, so
    the parts always cover every index exactly once.
    """
    _check_positive_int("n", n)
    _check_seed(seed)
    fractions = [float(f) for f in fractions]
    if len(fractions) < 2:
        raise ValueError(f"need at least two fractions, got {fractions}")
    if any(f <= 0 for f in fractions):
        raise ValueError(f"fractions must be positive, got {fractions}")
    if not math.isclose(sum(fractions), 1.0, abs_tol=1e-9):
        raise ValueError(f"fractions must sum to 1, got {fractions} (sum {sum(fractions)})")
    counts = [int(round(f * n)) for f in fractions[:-1]]
    counts.append(n - sum(counts))
    if any(c <= 0 for c in counts):
        raise ValueError(f"n={n} is too small for fractions {fractions}: a part would be empty")
    perm = torch.randperm(n, generator=_cpu_generator(seed), device="cpu")
    return list(torch.split(perm, counts))


def split_tensors(
    x: torch.Tensor,
    y: torch.Tensor,
    fractions: Sequence[float] = (0.7, 0.15, 0.15),
    seed: int = 0,
) -> Splits:
    """Split paired tensors ``x`` and ``y`` into train / validation / test with a seeded shuffle."""
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("x and y must be torch tensors")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if len(fractions) != 3:
        raise ValueError(f"need three fractions (train, val, test), got {list(fractions)}")
    tr, va, te = split_indices(len(x), fractions, seed)
    return Splits((x[tr], y[tr]), (x[va], y[va]), (x[te], y[te]))


def standardize(splits: Splits) -> Splits:
    """Standardise every split with the *training* mean and standard deviation (per feature).

    Using the training statistics for validation and test data is what a deployed model would do:
    it never sees the test set's statistics.
    """
    if not isinstance(splits, Splits):
        raise TypeError(f"expected a Splits, got {type(splits).__name__}")
    x = splits.train[0]
    if not x.is_floating_point():
        raise TypeError(f"features must be floating point to standardise, got {x.dtype}")
    mean = x.mean(dim=0, keepdim=True)
    std = x.std(dim=0, keepdim=True).clamp_min(1e-8)

    def norm(pair: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return ((pair[0] - mean) / std, pair[1])

    return Splits(norm(splits.train), norm(splits.val), norm(splits.test))


def make_loaders(
    splits: Splits, batch_size: int = 64, seed: int = 0
) -> dict[str, DataLoader]:
    """DataLoaders for each split; only the training loader shuffles, with a seeded generator."""
    if not isinstance(splits, Splits):
        raise TypeError(f"expected a Splits, got {type(splits).__name__}")
    _check_positive_int("batch_size", batch_size)
    _check_seed(seed)
    gen = _cpu_generator(seed)
    return {
        "train": DataLoader(
            TensorDataset(*splits.train), batch_size=batch_size, shuffle=True, generator=gen
        ),
        "val": DataLoader(TensorDataset(*splits.val), batch_size=batch_size),
        "test": DataLoader(TensorDataset(*splits.test), batch_size=batch_size),
    }


# --------------------------------------------------------------------------------------------
# datasets
# --------------------------------------------------------------------------------------------
def digits(flatten: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The 1797 handwritten 8x8 digits of scikit-learn, pixel values scaled to [0, 1].

    Returns ``(x, y)``: ``x`` is ``(1797, 1, 8, 8)`` float32 (``(1797, 64)`` with ``flatten``) and
    ``y`` the int64 class 0-9.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.images / 16.0, dtype=torch.float32).unsqueeze(1)
    if flatten:
        x = x.flatten(1)
    return x, torch.tensor(bunch.target, dtype=torch.int64)


def digits_splits(
    flatten: bool = False, fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0
) -> Splits:
    """The digits split into train / validation / test (seeded)."""
    return split_tensors(*digits(flatten=flatten), fractions=fractions, seed=seed)


def sample_photos() -> tuple[torch.Tensor, list[str]]:
    """scikit-learn's two colour photos (a temple and a flower), as ``(2, 3, 427, 640)`` in [0, 1]."""
    from sklearn.datasets import load_sample_images

    bunch = load_sample_images()
    images = torch.tensor(np.stack(bunch.images), dtype=torch.float32).permute(0, 3, 1, 2) / 255.0
    names = [name.rsplit("/", 1)[-1].split(".")[0] for name in bunch.filenames]
    return images.contiguous(), names


def breast_cancer() -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """The Wisconsin breast-cancer diagnosis data: 569 x 30 float32 features.

    Labels follow the medical convention of the evaluation chapters: 1 = malignant (the condition
    we screen for), 0 = benign. (scikit-learn stores the opposite: 0 = malignant.)
    """
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    x = torch.tensor(bunch.data, dtype=torch.float32)
    y = torch.tensor(1 - bunch.target, dtype=torch.int64)
    return x, y, list(bunch.feature_names)


_TOY = ("moons", "circles", "blobs", "swiss_roll")


def toy_2d(
    name: str, n: int = 500, noise: float = 0.1, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A 2-D toy dataset: ``"moons"``, ``"circles"``, ``"blobs"`` (3 classes) or ``"swiss_roll"``.

    Returns float32 points ``(n, 2)`` and int64 labels. The swiss roll is the 2-D spiral (x, z) of
    scikit-learn's 3-D roll, labelled by which half of the spiral a point lies on.
    """
    from sklearn import datasets as skd

    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if name not in _TOY:
        raise ValueError(f"unknown toy dataset {name!r}: choose one of {', '.join(_TOY)}")
    _check_positive_int("n", n)
    _check_seed(seed)
    if not isinstance(noise, (int, float)) or isinstance(noise, bool) or noise < 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
    seed = int(seed)
    if name == "moons":
        x, y = skd.make_moons(n_samples=n, noise=noise, random_state=seed)
    elif name == "circles":
        x, y = skd.make_circles(n_samples=n, noise=noise, factor=0.5, random_state=seed)
    elif name == "blobs":
        x, y = skd.make_blobs(n_samples=n, centers=3, cluster_std=1.0 + noise, random_state=seed)
    else:
        pts, t = skd.make_swiss_roll(n_samples=n, noise=noise, random_state=seed)
        x = pts[:, [0, 2]] / 10.0
        y = (t > np.median(t)).astype(np.int64)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.int64)


def karate_club() -> tuple[torch.Tensor, torch.Tensor, object]:
    """Zachary's karate club: adjacency matrix ``(34, 34)``, labels and the networkx graph.

    The label is the club each member joined after the split: 0 = Mr. Hi, 1 = Officer.
    """
    import networkx as nx

    graph = nx.karate_club_graph()
    adjacency = torch.tensor(
        nx.to_numpy_array(graph, nodelist=sorted(graph), weight=None), dtype=torch.float32
    )
    labels = torch.tensor(
        [0 if graph.nodes[v]["club"] == "Mr. Hi" else 1 for v in sorted(graph)], dtype=torch.int64
    )
    return adjacency, labels, graph


CORPUS_FILE = "pydoc_topics_3.11.txt.gz"
CORPUS_SHA256 = "71f2ff5d99bdc1f9c48c5c2353ad138201c5ca1c377e0226857ef8fa89b8bcee"


def text_corpus(max_chars: int | None = None) -> str:
    """About 460k characters of English: the help topics shipped with Python 3.11 (``pydoc_data``).

    The topics, joined in sorted order, are stored in the package (``corpus/``, gzip) rather than
    read from the running interpreter, whose topics change with every Python version: the text is
    identical on every machine. ``max_chars`` keeps only the start.
    """
    import gzip
    from importlib.resources import files

    if max_chars is not None:
        _check_positive_int("max_chars", max_chars)
    data = files("dlnotes").joinpath("corpus", CORPUS_FILE).read_bytes()
    text = gzip.decompress(data).decode("utf-8")
    return text if max_chars is None else text[:max_chars]


def sine_waves(
    n_sequences: int = 64,
    length: int = 100,
    noise: float = 0.0,
    seed: int = 0,
) -> torch.Tensor:
    """Sine waves with random phase and a frequency in [0.5, 1.5) cycles per 20 steps.

    Returns ``(n_sequences, length)`` float32; each row is one wave sampled at unit steps, plus
    Gaussian noise of standard deviation ``noise``.
    """
    _check_positive_int("n_sequences", n_sequences)
    _check_positive_int("length", length)
    _check_seed(seed)
    if not isinstance(noise, (int, float)) or isinstance(noise, bool) or noise < 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
    gen = _cpu_generator(seed)
    phase = torch.rand(n_sequences, 1, generator=gen, device="cpu") * 2 * math.pi
    freq = (0.5 + torch.rand(n_sequences, 1, generator=gen, device="cpu")) * 2 * math.pi / 20
    t = torch.arange(length, dtype=torch.float32, device="cpu")
    waves = torch.sin(freq * t + phase)
    if noise:
        waves = waves + noise * torch.randn(n_sequences, length, generator=gen, device="cpu")
    return waves
