import torch

from digitrec.augment import augment_batch, random_affine, random_blur, random_stroke_width


def _digits(n=64):
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 6:22, 12:16] = 1.0  # a thick vertical bar: a "1"
    return x


def test_shapes_range_and_determinism():
    x = _digits()
    a = augment_batch(x, torch.Generator().manual_seed(1))
    b = augment_batch(x, torch.Generator().manual_seed(1))
    c = augment_batch(x, torch.Generator().manual_seed(2))
    assert a.shape == x.shape
    assert a.min() >= 0 and a.max() <= 1.0001
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_each_image_gets_its_own_transform():
    out = random_affine(_digits(), torch.Generator().manual_seed(0))
    flat = out.flatten(1)
    assert len({tuple(row.round(decimals=3).tolist()) for row in flat}) == len(flat)


def test_strength_zero_is_identity():
    x = _digits()
    assert torch.equal(augment_batch(x, torch.Generator(), strength=0), x)


def test_affine_keeps_the_digit_mostly_inside_and_near_the_centre():
    x = _digits()
    out = random_affine(x, torch.Generator().manual_seed(0), strength=1.0)
    mass = out.sum(dim=(1, 2, 3))
    assert torch.allclose(mass, x.sum(dim=(1, 2, 3)), rtol=0.25)
    cols = torch.arange(28.0)
    centre_x = (out.sum(dim=(1, 2)) * cols).sum(1) / out.sum(dim=(1, 2, 3))
    assert (centre_x - 13.5).abs().max() < 4  # shift <= 2 px plus rotation/shear of a centred bar


def test_stroke_width_thickens_and_thins():
    x = _digits(256)
    out = random_stroke_width(x, torch.Generator().manual_seed(0), strength=1.0)
    change = out.sum(dim=(1, 2, 3)) - x.sum(dim=(1, 2, 3))
    assert (change > 1).any() and (change < -1).any()


def test_blur_softens_the_chosen_share_and_keeps_contrast():
    x = _digits(400)
    out = random_blur(x, torch.Generator().manual_seed(0), share=0.25)
    changed = (out - x).abs().flatten(1).amax(1) > 1e-6
    assert 0.15 < changed.float().mean() < 0.35  # about the share asked for; the rest untouched
    blurred = out[changed]
    assert blurred.amax((1, 2, 3)).min() >= 0.999  # stretched back to full contrast
    assert blurred.max() <= 1
    # the bar's edges soften: ink spreads into the columns beside it, and the mass stays near the centre
    assert (blurred[:, 0, 14, 11] > 0.05).all() and (blurred[:, 0, 14, 9] < blurred[:, 0, 14, 11]).all()
    assert torch.equal(random_blur(x, torch.Generator().manual_seed(0), 0.0), x)
