"""Geometry, determinism and file loading of the procedural dSprites renderer."""

import math

import numpy as np
import pytest
import torch

from neural.datasets import (
    FACTOR_SIZES,
    N_IMAGES,
    DSprites,
    classes_to_indices,
    dsprites_batch,
    factor_values,
    indices_to_classes,
    load_dsprites_npz,
    render,
)
from neural.datasets.dsprites import ELLIPSE_RATIO, HALF_SIZE, MARGIN

PX = 64  # pixels per canvas unit


def _classes(shape=0, scale=5, orient=0, px=15, py=15, n=None):
    cols = [shape, scale, orient, px, py]
    n = max(np.size(c) for c in cols) if n is None else n
    return np.stack([np.broadcast_to(np.asarray(c), (n,)) for c in cols], axis=1)


def _moments(img):
    """Pixel count, centroid (x = column, y = row, pixel centres at index + 0.5) and the
    covariance of the pixel centres of each mask (N, 64, 64)."""
    img = img.reshape(-1, PX, PX).double()
    g = torch.arange(PX, dtype=torch.float64) + 0.5
    n = img.sum((1, 2))
    cx = (img * g[None, None, :]).sum((1, 2)) / n
    cy = (img * g[None, :, None]).sum((1, 2)) / n
    dx = g[None, None, :] - cx[:, None, None]
    dy = g[None, :, None] - cy[:, None, None]
    sxx = (img * dx * dx).sum((1, 2)) / n
    syy = (img * dy * dy).sum((1, 2)) / n
    sxy = (img * dx * dy).sum((1, 2)) / n
    cov = torch.stack([torch.stack([sxx, sxy], -1), torch.stack([sxy, syy], -1)], -2)
    return n, cx, cy, cov


def test_full_grid_shape_and_index_round_trip():
    assert N_IMAGES == 737280 == math.prod(FACTOR_SIZES)
    idx = torch.arange(N_IMAGES)
    classes = indices_to_classes(idx)
    assert classes.shape == (N_IMAGES, 5)
    assert torch.equal(classes_to_indices(classes), idx)
    # every combination once: the last factor varies fastest (C order of the original file)
    assert classes[1].tolist() == [0, 0, 0, 0, 1]
    assert classes[-1].tolist() == [2, 5, 39, 31, 31]
    v = factor_values(classes[::997])
    assert v[:, 1].min() >= 0.5 and v[:, 1].max() <= 1.0
    assert v[:, 2].max() < 2 * math.pi


def test_images_are_binary_and_inside_the_canvas():
    # the largest sprites at the extreme positions and all orientations stay off the border:
    # every shape lies within sqrt(2) * HALF_SIZE of its centre (11.8 px), less than the
    # distance from the nearest centre to the border pixel centres, MARGIN * 64 - 0.5 = 12.3 px.
    c = _classes(
        shape=np.repeat([0, 1, 2], 160),
        scale=5,
        orient=np.tile(np.arange(40), 12),
        px=np.tile(np.repeat([0, 31], 40), 6),
        py=np.tile(np.repeat([0, 31, 31, 0], 40), 3),
    )
    img = render(c, device="cpu")
    assert set(torch.unique(img).tolist()) == {0.0, 1.0}
    border = img[..., 0, :].sum() + img[..., -1, :].sum() + img[..., :, 0].sum()
    assert border + img[..., :, -1].sum() == 0
    assert math.sqrt(2) * HALF_SIZE * PX < MARGIN * PX - 0.5


@pytest.mark.parametrize("shape", [0, 1])
def test_area_scales_with_scale_squared_within_lattice_bound(shape):
    """Pixel count N of a convex set of area A and perimeter P (pixel units), any translate
    and rotation: A - P/2 < N <= A + P/2 + 1 (Nosarzewska; Bokowski-Hadwiger-Wills). Hence
    the ratio of counts follows s^2 within the bound propagated from both counts."""
    scales = np.arange(6)
    orient = np.array([0, 3, 7, 11])
    c = _classes(shape=shape, scale=np.repeat(scales, 4), orient=np.tile(orient, 6), px=9, py=20)
    n = _moments(render(c, device="cpu"))[0].numpy()
    s = 0.5 + 0.1 * np.repeat(scales, 4)
    a = HALF_SIZE * PX * s  # half side / semi-major axis in pixels
    if shape == 0:
        area, perim = (2 * a) ** 2, 8 * a
    else:
        b = ELLIPSE_RATIO * a
        area = math.pi * a * b
        perim = math.pi * (3 * (a + b) - np.sqrt((3 * a + b) * (a + 3 * b)))  # Ramanujan
        perim = perim * 1.001  # Ramanujan's approximation is below the truth by < 1e-3 here
    assert np.all(n > area - perim / 2)
    assert np.all(n <= area + perim / 2 + 1)
    # and the fitted exponent of N against s is 2 within the same bound's relative size
    slope = np.polyfit(np.log(s), np.log(n), 1)[0]
    assert abs(slope - 2) < 0.1


def test_heart_area_grows_like_scale_squared():
    """The heart is not convex; its count still obeys |N - A| <= boundary pixels. At scale
    0.5 the counts of 40 orientations average out the lattice error; A(1)/A(0.5) = 4."""
    c = _classes(shape=2, scale=np.repeat([0, 5], 40), orient=np.tile(np.arange(40), 2))
    n = _moments(render(c, device="cpu"))[0].numpy()
    ratio = n[40:].mean() / n[:40].mean()
    # boundary of the scale-0.5 heart ~ 30 px; orientation-averaged count error << 1/2 of it
    # relative to ~57 px: allow 6% on the ratio.
    assert abs(ratio - 4) < 0.24


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_centre_of_mass_follows_position(shape):
    pos = np.arange(32)
    cx = _moments(render(_classes(shape=shape, px=pos, py=7, orient=5), device="cpu"))[1]
    cy = _moments(render(_classes(shape=shape, py=pos, px=20, orient=5), device="cpu"))[2]
    for com in (cx.numpy(), cy.numpy()):
        assert np.all(np.diff(com) > 0)  # monotone
        slope, icpt = np.polyfit(pos / 31, com, 1)
        resid = com - (slope * pos / 31 + icpt)
        # centres move by (1 - 2 MARGIN) * 64 = 38.4 px over the range
        assert abs(slope - (1 - 2 * MARGIN) * PX) < 0.02 * 38.4
        assert np.max(np.abs(resid)) < 0.5


def test_axis_aligned_square_centroid_within_half_pixel():
    """At orientation 0 the square covers whole columns j with |j + 1/2 - x0| <= a: an
    interval of integers whose mean is within 1/2 px of x0 (likewise rows)."""
    pos = np.arange(32)
    _, cx, cy, _ = _moments(render(_classes(px=pos, py=pos[::-1], orient=0), device="cpu"))
    x0 = (MARGIN + (1 - 2 * MARGIN) * pos / 31) * PX
    assert np.max(np.abs(cx.numpy() - x0)) <= 0.5
    assert np.max(np.abs(cy.numpy() - x0[::-1])) <= 0.5


def test_ellipse_rotation_rotates_second_moments():
    """Cov(θ) = R(θ) Cov(0) R(θ)^T for the continuous ellipse. The largest lattice error over
    the 40 orientations of this ~108 px mask is 0.061 of ‖Cov‖ (measured); a wrong rotation by
    one orientation step (9°) moves Cov by √2 (λ1 - λ2) sin 9° / ‖Cov‖ ≈ 0.16, so a 0.1
    tolerance separates the two. The major axis must follow θ (mod π) to 3°."""
    orient = np.arange(40)
    _, _, _, cov = _moments(render(_classes(shape=1, orient=orient), device="cpu"))
    th = torch.as_tensor(2 * math.pi * orient / 40)
    rot = torch.stack(
        [torch.stack([th.cos(), -th.sin()], -1), torch.stack([th.sin(), th.cos()], -1)], -2
    )
    pred = rot @ cov[0] @ rot.transpose(-1, -2)
    err = torch.linalg.matrix_norm(cov - pred) / torch.linalg.matrix_norm(cov[0])
    assert float(err.max()) < 0.1
    evals, evecs = torch.linalg.eigh(cov)
    major = evecs[..., :, 1]
    ang = torch.atan2(major[:, 1], major[:, 0])
    dev = torch.remainder(ang - th + math.pi / 2, math.pi) - math.pi / 2
    assert float(dev.abs().max()) < math.radians(3)


def test_heart_rotation_turns_its_centroid_offset():
    """The heart is not point-symmetric: its centroid sits ~1.25 px from the sprite centre,
    towards the lobes, and that offset turns with θ. The centroid's lattice error (≲ 0.25 px
    for a ~226 px mask) bounds the direction error by atan(0.25 / 1.1) ≈ 13°: tolerance 15°
    (a quarter or half turn, or a mirrored heart, is far outside)."""
    orient = np.arange(40)
    _, cx, cy, _ = _moments(render(_classes(shape=2, orient=orient), device="cpu"))
    x0 = (MARGIN + (1 - 2 * MARGIN) * 15 / 31) * PX
    ox, oy = cx - x0, cy - x0
    assert float(torch.hypot(ox, oy).min()) > 1.0
    assert float(oy[0]) < -1.0  # lobes up (towards row 0) at θ = 0: the point is down
    th = torch.as_tensor(2 * math.pi * orient / 40)
    ang = torch.atan2(oy, ox)
    dev = torch.remainder(ang - ang[0] - th + math.pi, 2 * math.pi) - math.pi
    assert float(dev.abs().max()) < math.radians(15)


def test_square_rotation_support_function():
    """The square's extent along its edge normal is a = h s (half side), along its diagonal
    a√2. The extent of the pixel centres inside is at most that (upper bound exact); any disc
    of radius √2/2 holds a lattice point (the covering radius of Z²), and such a disc fits
    inside the square touching an edge (lower bound a - √2) or in a corner, centred 1 px from
    the tip (lower bound a√2 - 1 - √2/2). A square turned one step (9°) too far reaches
    a (cos 9° + sin 9°) ≈ 1.14 a > a along the normal, refused by the exact upper bound."""
    orient = np.arange(10)  # 0 .. 81 degrees
    img = render(_classes(shape=0, orient=orient), device="cpu")[:, 0].double()
    g = torch.arange(PX, dtype=torch.float64) + 0.5
    x0 = (MARGIN + (1 - 2 * MARGIN) * 15 / 31) * PX
    dx = g[None, None, :] - x0
    dy = g[None, :, None] - x0
    a = HALF_SIZE * PX
    for k, o in enumerate(orient):
        th = 2 * math.pi * o / 40
        cases = ((th, a, math.sqrt(2)), (th + math.pi / 4, a * math.sqrt(2), 1 + math.sqrt(0.5)))
        for phi, expect, slack in cases:
            proj = dx * math.cos(phi) + dy * math.sin(phi)
            ext = float(torch.where(img[k] > 0, proj, torch.tensor(-1e9)).max())
            assert expect - slack <= ext <= expect + 1e-9


def test_shapes_are_distinct():
    img = render(_classes(shape=[0, 1, 2], orient=3), device="cpu").reshape(3, -1)
    for i in range(3):
        for j in range(i + 1, 3):
            assert (img[i] != img[j]).sum() > 20


def test_sampler_is_deterministic_and_holds_out():
    a = DSprites(seed=3, device="cpu", n_heldout=500)
    b = DSprites(seed=3, device="cpu", n_heldout=500)
    c = DSprites(seed=4, device="cpu", n_heldout=500)
    xa, ca, _ = a.sample(64)
    xb, cb, _ = b.sample(64)
    xc, cc, _ = c.sample(64)
    assert torch.equal(xa, xb) and torch.equal(ca, cb)
    assert not torch.equal(ca, cc)
    assert torch.equal(a.heldout_indices, c.heldout_indices)  # shared across run seeds
    drawn = torch.cat([a.sample_indices(4096) for _ in range(5)])
    assert not bool(torch.isin(drawn, a.heldout_indices).any())
    held = list(a.heldout_batches(200))
    assert sum(x.shape[0] for x, _, _ in held) == 500
    x, cl, _ = dsprites_batch(a.heldout_indices[:200], device="cpu")
    assert torch.equal(x, held[0][0]) and torch.equal(cl, held[0][1])


def test_bad_input():
    with pytest.raises(ValueError, match="indices"):
        indices_to_classes([N_IMAGES])
    with pytest.raises(ValueError, match="classes"):
        render([[3, 0, 0, 0, 0]], device="cpu")
    with pytest.raises(ValueError, match="classes"):
        render([[0.5, 0, 0, 0, 0]], device="cpu")
    with pytest.raises(ValueError, match="n_heldout"):
        DSprites(seed=0, device="cpu", n_heldout=0)


def _fake_npz(path, n=50, **override):
    idx = torch.randperm(N_IMAGES, generator=torch.Generator().manual_seed(1))[:n]
    x, classes, values = dsprites_batch(idx, device="cpu")
    lc = np.concatenate([np.zeros((n, 1), np.int64), classes.numpy()], axis=1)
    lv = np.concatenate([np.ones((n, 1)), values.numpy()], axis=1)
    arrays = {"imgs": x[:, 0].numpy().astype(np.uint8), "latents_classes": lc, "latents_values": lv}
    arrays.update(override)
    np.savez_compressed(path, **arrays)
    return arrays


def test_npz_round_trip(tmp_path):
    f = tmp_path / "dsprites_ndarray_fake.npz"
    arrays = _fake_npz(f)
    d = load_dsprites_npz(f, require_full=False)
    assert np.array_equal(d.imgs, arrays["imgs"])
    assert np.array_equal(d.classes, arrays["latents_classes"][:, 1:])
    assert np.allclose(d.values, arrays["latents_values"][:, 1:])
    assert len(d) == 50


def test_npz_wrong_file_is_refused(tmp_path):
    f = tmp_path / "small.npz"
    _fake_npz(f)
    with pytest.raises(ValueError, match="737280"):
        load_dsprites_npz(f)  # not the full grid
    g = tmp_path / "badshape.npz"
    _fake_npz(g, imgs=np.zeros((50, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="imgs"):
        load_dsprites_npz(g, require_full=False)
    h = tmp_path / "nokeys.npz"
    np.savez(h, images=np.zeros((2, 64, 64)))
    with pytest.raises(ValueError, match="latents_classes"):
        load_dsprites_npz(h, require_full=False)
    with pytest.raises(ValueError, match="not a file"):
        load_dsprites_npz(tmp_path / "missing.npz")


@pytest.mark.parametrize(
    "module", ["neural.datasets.dsprites", "neural.datasets.sampler", "neural.conv"]
)
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
