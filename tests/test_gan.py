"""dlnotes.gan: the losses against F.binary_cross_entropy_with_logits, models, the loop, bad input."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from dlnotes import gan  # noqa: E402


def _logits(seed=0, n=7):
    g = torch.Generator().manual_seed(seed)
    return 3 * torch.randn(n, generator=g, dtype=torch.float64)


def test_discriminator_loss_is_bce_with_real_one_fake_zero():
    real, fake = _logits(0), _logits(1, 5)
    ref = F.binary_cross_entropy_with_logits(
        real, torch.ones_like(real)
    ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    torch.testing.assert_close(gan.discriminator_loss(real, fake), ref)
    naive = -(torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean())
    torch.testing.assert_close(gan.discriminator_loss(real[:, None], fake[:, None]), naive)


def test_generator_losses():
    fake = _logits(2)
    ns = F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    torch.testing.assert_close(gan.generator_loss(fake), ns)
    minimax = -F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    torch.testing.assert_close(gan.generator_loss(fake, "minimax"), minimax)
    torch.testing.assert_close(gan.generator_loss(fake, "minimax"), torch.log(1 - torch.sigmoid(fake)).mean())


def test_gradients_saturate_only_for_minimax():
    logit = torch.tensor([-10.0], dtype=torch.float64, requires_grad=True)
    (g_mm,) = torch.autograd.grad(gan.generator_loss(logit, "minimax"), logit)
    (g_ns,) = torch.autograd.grad(gan.generator_loss(logit), logit)
    d = torch.sigmoid(logit.detach())
    torch.testing.assert_close(g_mm, -d)
    torch.testing.assert_close(g_ns, -(1 - d))
    assert abs(g_mm.item()) < 1e-4 < 0.99 < abs(g_ns.item())


def test_losses_stay_finite_for_huge_logits():
    big = torch.tensor([200.0, -200.0])
    assert torch.isfinite(gan.discriminator_loss(big, big)) and torch.isfinite(gan.generator_loss(big))


def test_models_shapes_and_conditioning():
    g_model = gan.MLPGenerator(4, (8,), 6, num_classes=3)
    d_model = gan.MLPDiscriminator(6, (8,), num_classes=3)
    z, c = torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1])
    out = g_model(z, c)
    assert out.shape == (5, 6) and bool(((out > 0) & (out < 1)).all())
    assert d_model(out, c).shape == (5,)
    assert gan.MLPGenerator(2, (8,), 2, output="linear")(torch.randn(3, 2)).shape == (3, 2)
    lin = g_model.net[0][0]
    assert lin.in_features == 4 + 3


def test_train_gan_updates_only_what_it_should():
    torch.manual_seed(0)
    g_model, d_model = gan.MLPGenerator(2, (8,), 2, output="linear"), gan.MLPDiscriminator(2, (8,))
    real = gan.gaussian_ring(64)[0]
    d_before = [p.detach().clone() for p in d_model.parameters()]
    g_before = [p.detach().clone() for p in g_model.parameters()]
    seen = []
    hist = gan.train_gan(g_model, d_model, real, 3, k=0, batch_size=16, callback=lambda i, _: seen.append(i))
    assert seen == [1, 2, 3] and all(math.isnan(v) for v in hist["d_loss"])
    assert all(torch.equal(a, b) for a, b in zip(d_before, d_model.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(g_before, g_model.parameters()))
    assert all(p.requires_grad for p in d_model.parameters())
    hist = gan.train_gan(g_model, d_model, real, 2, k=2, g_steps=0, batch_size=16)
    assert all(math.isnan(v) for v in hist["g_loss"]) and all(math.isfinite(v) for v in hist["d_loss"])


def test_train_gan_is_reproducible_and_conditional():
    def run():
        torch.manual_seed(1)
        g_model = gan.MLPGenerator(3, (8,), 4, num_classes=2)
        d_model = gan.MLPDiscriminator(4, (8,), num_classes=2)
        x, y = torch.rand(20, 4), torch.arange(20) % 2
        return gan.train_gan(g_model, d_model, x, 4, labels=y, batch_size=8, seed=3)

    assert run() == run()


def test_ring_and_mode_counts():
    centres = gan.ring_centres(8, 2.0)
    torch.testing.assert_close(centres.norm(dim=1), torch.full((8,), 2.0))
    pts, which = gan.gaussian_ring(800, std=0.05, seed=1)
    counts = gan.mode_counts(pts, centres, 0.15)
    assert counts.sum() > 0.97 * 800 and bool((counts <= torch.bincount(which, minlength=8)).all())
    assert gan.mode_counts(torch.zeros(5, 2), centres, 0.5).sum() == 0
    assert gan.mode_counts(centres[[3, 3, 5]], centres, 0.1).tolist() == [0, 0, 0, 2, 0, 1, 0, 0]


def test_draw_gan():
    fig, ax = plt.subplots()
    assert gan.draw_gan(ax, conditional=True) is ax
    plt.close(fig)
    with pytest.raises(TypeError, match="Axes"):
        gan.draw_gan("ax")


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: gan.discriminator_loss([1.0], torch.zeros(1)), TypeError, "real_logits"),
        (lambda: gan.discriminator_loss(torch.zeros(2, 2), torch.zeros(2)), ValueError, "vector of logits"),
        (lambda: gan.generator_loss(torch.zeros(2), "wasserstein"), ValueError, "non-saturating"),
        (lambda: gan.generator_loss(torch.zeros(2, dtype=torch.int64)), TypeError, "floating-point"),
        (lambda: gan.MLPGenerator(0, (8,), 2), ValueError, "latent_dim"),
        (lambda: gan.MLPGenerator(2, 8, 2), TypeError, "hidden"),
        (lambda: gan.MLPGenerator(2, (8,), 2, output="tanh"), ValueError, "output"),
        (lambda: gan.MLPDiscriminator(2, (8,), num_classes=-1), ValueError, "num_classes"),
        (lambda: gan.MLPGenerator(2, (8,), 2)(torch.zeros(3, 5)), ValueError, "shape"),
        (lambda: gan.MLPGenerator(2, (8,), 2, num_classes=3)(torch.zeros(3, 2)), ValueError, "needs labels"),
        (
            lambda: gan.MLPGenerator(2, (8,), 2)(torch.zeros(3, 2), torch.zeros(3, dtype=torch.int64)),
            ValueError,
            "unconditional",
        ),
        (
            lambda: gan.MLPDiscriminator(2, (8,), num_classes=3)(torch.zeros(2, 2), torch.tensor([0, 3])),
            ValueError,
            r"\[0, 3\)",
        ),
        (
            lambda: gan.train_gan(
                gan.MLPGenerator(2, (8,), 2), gan.MLPDiscriminator(3, (8,)), torch.zeros(4, 2), 1
            ),
            ValueError,
            "real must have shape",
        ),
        (
            lambda: gan.train_gan(
                gan.MLPGenerator(2, (8,), 2),
                gan.MLPDiscriminator(2, (8,)),
                torch.zeros(4, 2),
                1,
                k=0,
                g_steps=0,
            ),
            ValueError,
            "both be 0",
        ),
        (
            lambda: gan.train_gan(
                gan.MLPGenerator(2, (8,), 2), gan.MLPDiscriminator(2, (8,)), torch.zeros(4, 2), 1, lr=-1.0
            ),
            ValueError,
            "lr",
        ),
        (
            lambda: gan.train_gan(
                gan.MLPGenerator(2, (8,), 2, num_classes=2),
                gan.MLPDiscriminator(2, (8,)),
                torch.zeros(4, 2),
                1,
            ),
            ValueError,
            "share num_classes",
        ),
        (
            lambda: gan.train_gan(
                gan.MLPGenerator(2, (8,), 2),
                gan.MLPDiscriminator(2, (8,)),
                torch.zeros(4, 2),
                1,
                loss="hinge",
            ),
            ValueError,
            "loss must be",
        ),
        (
            lambda: gan.train_gan("G", gan.MLPDiscriminator(2, (8,)), torch.zeros(4, 2), 1),
            TypeError,
            "MLPGenerator",
        ),
        (lambda: gan.gaussian_ring(10, std=0.0), ValueError, "std"),
        (lambda: gan.ring_centres(0), ValueError, "modes"),
        (lambda: gan.mode_counts(torch.zeros(3, 2), torch.zeros(2, 3), 1.0), ValueError, "share d"),
        (lambda: gan.mode_counts(torch.zeros(3, 2), torch.zeros(2, 2), 0), ValueError, "radius"),
    ],
)
def test_bad_input_raises_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
