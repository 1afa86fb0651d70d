r"""dSprites, rendered procedurally on the training device.

The dSprites data set (Matthey et al. 2017) is the full grid of five generative factors

========  =====  ============================================  =====================
index     size   values                                        class index ``c``
========  =====  ============================================  =====================
shape     3      square, ellipse, heart (stored as 1, 2, 3)    ``c``
scale     6      ``0.5 + 0.1 c`` (``linspace(0.5, 1, 6)``)     ``c``
orient.   40     ``2π c / 40`` (in ``[0, 2π)``)                 ``c``
posX      32     ``c / 31`` (``linspace(0, 1, 32)``)           ``c``
posY      32     ``c / 31``                                    ``c``
========  =====  ============================================  =====================

(plus a constant colour), 737 280 binary 64×64 images. Grid index ``i`` is the C-order
ravel of the five class indices (shape slowest, posY fastest), the order of the original
``dsprites_ndarray_*.npz``.

Rendering (:func:`render`) evaluates each shape's implicit inequality at every pixel centre
after the inverse similarity transform, for a whole batch at once (no per-image loop; nothing
is stored). With pixel ``(row r, column c)`` centred at ``((c + ½)/64, (r + ½)/64)`` in the
unit canvas, a sprite with centre ``(x₀, y₀) = (0.2 + 0.6 posX, 0.2 + 0.6 posY)`` (posX along
columns, posY along rows: margins of 0.2 of the canvas, 12.8 px), scale ``s`` and orientation
``θ`` covers the pixels whose shape coordinates

.. math::

    (u, v) = R(-θ)\,(x - x_0, y - y_0) / (h s), \qquad h = 0.13

satisfy ``max(|u|, |v|) ≤ 1`` (square, side ``2hs`` = 16.6 px at ``s = 1``), ``u² + (v/ρ)² ≤
1`` with ``ρ = ½`` (ellipse elongated along its ``u`` axis) or the heart curve
``(X² + Y² − 1)³ − X² Y³ ≤ 0`` with ``X = κu``, ``Y = −κv + δ`` (``κ = 1.14``, ``δ = 0.118``:
the heart's bounding box scaled into ``[−1, 1]²``, its point towards +y, i.e. down on the
screen at ``θ = 0``). Every shape lies within radius ``√2 h s`` of its centre, less than the
margin less the half pixel to the first pixel centre (12.3 px > 11.8 px), so no sprite
touches the border pixels. Images are exactly 0/1.

Differences from the original file (which is unavailable here; :func:`load_dsprites_npz`
reads it when present): the original's pixel art, exact sizes and margins are not public, so
the shapes' sizes and margins above are chosen to resemble it; the original orientation values
are ``linspace(0, 2π, 40)`` (first and last equal), here ``2πc/40``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..device import resolve_device

__all__ = [
    "FACTOR_NAMES",
    "FACTOR_SIZES",
    "N_IMAGES",
    "IMAGE_SIZE",
    "SHAPES",
    "DSpritesArrays",
    "indices_to_classes",
    "classes_to_indices",
    "factor_values",
    "render",
    "dsprites_batch",
    "load_dsprites_npz",
]

FACTOR_NAMES: tuple[str, ...] = ("shape", "scale", "orientation", "posX", "posY")
FACTOR_SIZES: tuple[int, ...] = (3, 6, 40, 32, 32)
SHAPES: tuple[str, ...] = ("square", "ellipse", "heart")
N_IMAGES: int = math.prod(FACTOR_SIZES)  # 737 280
IMAGE_SIZE: int = 64

#: Half-size of a scale-1 sprite as a fraction of the canvas.
HALF_SIZE = 0.13
#: Canvas fraction left free on each side of the range of centres.
MARGIN = 0.2
#: Minor/major axis ratio of the ellipse.
ELLIPSE_RATIO = 0.5
_HEART_KAPPA = 1.14
_HEART_SHIFT = 0.118

_STRIDES = tuple(int(math.prod(FACTOR_SIZES[k + 1 :])) for k in range(len(FACTOR_SIZES)))


def _as_index_tensor(x, name: str) -> torch.Tensor:
    t = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{name}: expected integers, got dtype {t.dtype}")
    return t.to(torch.int64)


def indices_to_classes(indices) -> torch.Tensor:
    """Grid indices ``(N,)`` in ``[0, 737280)`` -> class indices ``(N, 5)`` (int64).

    Examples
    --------
    >>> indices_to_classes([0, 737279]).tolist()
    [[0, 0, 0, 0, 0], [2, 5, 39, 31, 31]]
    """
    idx = _as_index_tensor(indices, "indices")
    if idx.ndim != 1:
        raise ValueError(f"indices: expected a 1-d array, got shape {tuple(idx.shape)}")
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= N_IMAGES):
        raise ValueError(
            f"indices: must lie in [0, {N_IMAGES}), got [{int(idx.min())}, {int(idx.max())}]"
        )
    strides = torch.tensor(_STRIDES, device=idx.device)
    sizes = torch.tensor(FACTOR_SIZES, device=idx.device)
    return (idx[:, None] // strides) % sizes


def classes_to_indices(classes) -> torch.Tensor:
    """Class indices ``(N, 5)`` -> grid indices ``(N,)`` (inverse of :func:`indices_to_classes`)."""
    c = _check_classes(classes)
    return c @ torch.tensor(_STRIDES, device=c.device)


def _check_classes(classes) -> torch.Tensor:
    c = _as_index_tensor(classes, "classes")
    if c.ndim != 2 or c.shape[1] != len(FACTOR_SIZES):
        raise ValueError(f"classes: expected shape (N, 5), got {tuple(c.shape)}")
    sizes = torch.tensor(FACTOR_SIZES, device=c.device)
    if c.numel() and (bool((c < 0).any()) or bool((c >= sizes).any())):
        raise ValueError(f"classes: column k must lie in [0, {FACTOR_SIZES}[k]) for each k")
    return c


def factor_values(classes) -> torch.Tensor:
    """Class indices ``(N, 5)`` -> factor values ``(N, 5)`` float64: shape ``c + 1`` (1, 2, 3
    as in the original file), scale ``0.5 + c/10``, orientation ``2πc/40``, posX/posY ``c/31``."""
    c = _check_classes(classes).to(torch.float64)
    out = torch.empty_like(c)
    out[:, 0] = c[:, 0] + 1.0
    out[:, 1] = 0.5 + c[:, 1] * (0.5 / (FACTOR_SIZES[1] - 1))
    out[:, 2] = c[:, 2] * (2.0 * math.pi / FACTOR_SIZES[2])
    out[:, 3] = c[:, 3] / (FACTOR_SIZES[3] - 1)
    out[:, 4] = c[:, 4] / (FACTOR_SIZES[4] - 1)
    return out


def render(classes, device="auto", dtype=torch.float32) -> torch.Tensor:
    """Render sprites from their class indices, vectorised over the batch.

    Parameters
    ----------
    classes : array_like or Tensor of int, shape (N, 5)
        Class indices (shape, scale, orientation, posX, posY).
    device : str or torch.device
        Where to render (``"auto"``: CUDA if present).
    dtype : torch.dtype
        Of the returned images (values exactly 0 or 1).

    Returns
    -------
    Tensor, shape (N, 1, 64, 64)

    Examples
    --------
    >>> img = render([[0, 5, 0, 0, 0]], device="cpu")
    >>> tuple(img.shape), int(img.sum())  # a 16.6-px square: 17 x 17 pixel centres
    ((1, 1, 64, 64), 289)
    """
    dev = resolve_device(device)
    c = _check_classes(classes).to(dev)
    vals = factor_values(c).to(torch.float32)
    n = c.shape[0]
    grid = (torch.arange(IMAGE_SIZE, device=dev, dtype=torch.float32) + 0.5) / IMAGE_SIZE
    img = torch.zeros(n, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.bool, device=dev)
    # one vectorised pass per shape over the images of that shape (3 passes, not n)
    for k, inside in enumerate((_square, _ellipse, _heart)):
        sel = torch.nonzero(c[:, 0] == k).squeeze(1)
        if sel.numel() == 0:
            continue
        v_k = vals[sel]
        m = sel.numel()
        scale = (v_k[:, 1] * HALF_SIZE).view(m, 1, 1)
        cos = torch.cos(v_k[:, 2]).view(m, 1, 1)
        sin = torch.sin(v_k[:, 2]).view(m, 1, 1)
        x0 = (MARGIN + (1 - 2 * MARGIN) * v_k[:, 3]).view(m, 1, 1)
        y0 = (MARGIN + (1 - 2 * MARGIN) * v_k[:, 4]).view(m, 1, 1)
        dx = grid.view(1, 1, IMAGE_SIZE) - x0  # columns
        dy = grid.view(1, IMAGE_SIZE, 1) - y0  # rows
        u = (cos * dx + sin * dy) / scale
        v = (-sin * dx + cos * dy) / scale
        img[sel] = inside(u, v)
    return img.to(dtype).unsqueeze(1)


def _square(u, v):
    return torch.maximum(u.abs(), v.abs()) <= 1.0


def _ellipse(u, v):
    return u * u + (v / ELLIPSE_RATIO) ** 2 <= 1.0


def _heart(u, v):
    hx = _HEART_KAPPA * u
    hy = -_HEART_KAPPA * v + _HEART_SHIFT
    return (hx * hx + hy * hy - 1.0) ** 3 - hx * hx * hy**3 <= 0.0


def dsprites_batch(indices_or_classes, device="auto", dtype=torch.float32):
    """Images and labels for grid indices ``(N,)`` or class indices ``(N, 5)``.

    Returns
    -------
    images : Tensor (N, 1, 64, 64) on ``device``
    classes : Tensor (N, 5) int64 on ``device``
    values : Tensor (N, 5) float64 on ``device``
    """
    t = _as_index_tensor(indices_or_classes, "indices_or_classes")
    classes = indices_to_classes(t) if t.ndim == 1 else _check_classes(t)
    dev = resolve_device(device)
    classes = classes.to(dev)
    return render(classes, dev, dtype), classes, factor_values(classes)


@dataclass(frozen=True)
class DSpritesArrays:
    """The original dSprites arrays, read by :func:`load_dsprites_npz`.

    Attributes
    ----------
    imgs : ndarray of uint8, shape (N, 64, 64), values 0/1
    classes : ndarray of int64, shape (N, 5)
        The factor class indices (the constant colour column dropped).
    values : ndarray of float64, shape (N, 5)
        The factor values as stored in the file (colour dropped).
    """

    imgs: np.ndarray
    classes: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return int(self.imgs.shape[0])


def load_dsprites_npz(path: str | os.PathLike, *, require_full: bool = True) -> DSpritesArrays:
    """Load the original ``dsprites_ndarray_*.npz`` (keys ``imgs``, ``latents_classes``,
    ``latents_values``).

    Parameters
    ----------
    path : path-like
    require_full : bool, default True
        Demand the whole grid: 737 280 images in grid order (``latents_classes`` row ``i`` equal
        to :func:`indices_to_classes` of ``i``), so that grid indices select images. With
        ``False`` any number of rows is accepted (tests, subsets).

    Raises
    ------
    ValueError
        A missing file or key, arrays of the wrong shape, non-binary images, classes outside
        the grid, or (``require_full``) not the full grid in order.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path: {str(path)!r} is not a file")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"path: {str(path)!r} is not a readable .npz file ({exc})") from None
    with data:
        keys = set(getattr(data, "files", []))
        missing = sorted({"imgs", "latents_classes", "latents_values"} - keys)
        if missing:
            raise ValueError(
                f"path: {str(path)!r} lacks the dSprites keys {missing} (has {sorted(keys)})"
            )
        imgs = data["imgs"]
        lc = data["latents_classes"]
        lv = data["latents_values"]
    n = imgs.shape[0] if imgs.ndim else 0
    if imgs.ndim != 3 or imgs.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"path: imgs must have shape (N, 64, 64), got {imgs.shape}")
    for name, arr in (("latents_classes", lc), ("latents_values", lv)):
        if arr.shape != (n, 6):
            raise ValueError(f"path: {name} must have shape ({n}, 6), got {arr.shape}")
    if require_full and n != N_IMAGES:
        raise ValueError(f"path: the full dSprites grid has {N_IMAGES} images, the file {n}")
    if not np.all((imgs == 0) | (imgs == 1)):
        raise ValueError("path: imgs must be binary (0/1)")
    classes = np.asarray(lc[:, 1:], dtype=np.int64)
    if np.any(classes < 0) or np.any(classes >= np.asarray(FACTOR_SIZES)):
        raise ValueError(f"path: latents_classes[:, 1:] must lie within the grid {FACTOR_SIZES}")
    if require_full:
        expected = indices_to_classes(torch.arange(N_IMAGES)).numpy()
        if not np.array_equal(classes, expected):
            raise ValueError("path: latents_classes are not the dSprites grid in C order")
    return DSpritesArrays(
        imgs=np.asarray(imgs, dtype=np.uint8),
        classes=classes,
        values=np.asarray(lv[:, 1:], dtype=np.float64),
    )
