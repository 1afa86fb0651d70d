"""The authors' stopping rule of the notebook protocol (reference §6.3), with certificates.

After a half-step, the run stops (``"notebook_rule"``) when the changed block's Frobenius
changes are ``<= 1e-8``, the loss change rounds to 0 at 8 decimals and the reconstruction
error ``||AA^T + Σ_Z - Σ_Y||_2 / ||Σ_Y||_2`` is ``<= 1e-6``. Most members fail the cheap
tests; certified lower bounds on the reconstruction error (:meth:`NotebookRule._certify_recon`)
let the rule skip the expensive ones for members that cannot stop yet, without changing
which half-step any member stops at.
"""

from __future__ import annotations

import numpy as np

from .numerics import fro, mT
from .state import RunState
from .stop_rules import StopRule

__all__ = ["NotebookRule"]


class NotebookRule(StopRule):
    """The authors' notebook rule; per-member certificates ride along with the active stack."""

    def attach(self, st: RunState) -> None:
        P = st.idx.size
        self.skip_until = np.zeros(P, dtype=int)
        # a certified lower bound on ||AA^T + Σ_Z - Σ_Y||_2 - 1e-6 ||Σ_Y||_2 (<= 0: none) and
        # the bound on ||A^T v|| it is carried forward with (_certify_recon)
        self.recon_margin = np.full(P, -1.0)
        self.a_bound = np.zeros(P)
        st.on_retire(self)

    def drop(self, keep) -> None:
        self.skip_until = self.skip_until[keep]
        self.recon_margin = self.recon_margin[keep]
        self.a_bound = self.a_bound[keep]

    def after_decoder(self, st: RunState, old, h: int) -> None:
        self.check(st, old, h, decoder_step=True)

    def after_encoder(self, st: RunState, old, h: int) -> None:
        self.check(st, old, h, decoder_step=False)

    def check(self, st: RunState, old, h: int, decoder_step: bool) -> None:
        """Authors' rule after a half-step; ``old`` holds the block before it.

        Cheap tests first, on the whole stack: the changes of the block just updated (both
        matrices after a decoder step, the first after an encoder step) and the certificates
        that the reconstruction error is still above 1e-6 (:meth:`_certify_recon`). Then,
        for the few members left, a Frobenius bound on the reconstruction error
        (``||D||_2 >= ||D||_F / sqrt(n)``), the spectral error, and only then the two losses.
        """
        new = (st.A, st.z) if decoder_step else (st.B, st.Sw)
        if decoder_step:
            dA = fro(new[0] - old[0])
            dz = fro(new[1] - old[1])
            small = (dA <= 1e-8) & (dz <= 1e-8)
            # a member whose (A, Σ_Z) moves by more than the rule allows loses its recon-error
            # certificate (encoder steps leave (A, Σ_Z) and so the certificates alone)
            self.skip_until *= small
            # the certified error moves by at most dA (2a + dA) + dz (see _certify_recon)
            self.recon_margin -= ((2.0 * self.a_bound + dA) * dA + dz) * (1.0 + 1e-6)
            self.a_bound += dA
            go = small & (self.skip_until <= h)
        else:
            go = self.skip_until <= h
        # recon error certified above 1e-6 (NaN: not certified)
        go &= ~(self.recon_margin > 0)
        if not go.any():
            return
        if not decoder_step:
            go &= fro(new[0] - old[0]) <= 1e-8
            if not go.any():
                return
        c = np.flatnonzero(go)
        if not decoder_step:
            c = c[fro(new[1][c] - old[1][c]) <= 1e-8]
            if not c.size:
                return
        Ac, zc, norm_y = st.A[c], st.z[c], st.norm_y[c]
        diff = Ac @ mT(st.A[c]) + st.Sz(zc) - st.Sy[c]
        # ||D||_2 >= ||D||_F / sqrt(n): a cheap lower bound on the recon error first
        fro_diff = fro(diff)
        lower = fro_diff / (np.sqrt(st.n) * norm_y)
        maybe = lower <= 1e-6
        if not maybe.all():
            # Only decoder half-steps move (A, Σ_Z); while a member keeps passing the 1e-8
            # change test, one such step moves ||AA^T + Σ_Z - Σ_Y||_2 by at most
            # 2(||A||_F + 1e-4) 1e-8 + 1e-16 + 1e-8 (for up to 10^4 steps, ||A||_F grows by
            # < 1e-4), so the error stays above 1e-6 for the next k decoder steps.
            far = ~maybe
            cf = c[far]
            step = (2.0 * (fro(Ac[far]) + 1e-4) * 1e-8 + 1e-16 + 1e-8) / norm_y[far]
            k = np.minimum(np.floor((lower[far] - 1e-6) / step), 1e4)
            self.skip_until[cf] = h + 2 * k.astype(int)
            self._certify_recon(st, cf, diff[far], Ac[far], zc[far])
        if not maybe.any():
            return
        c, diff, norm_y = c[maybe], diff[maybe], norm_y[maybe]
        # the spectral norm, as np.linalg.norm(diff, 2, axis=(-2, -1)) computes it
        spectral = np.max(np.linalg.svd(diff, compute_uv=False), axis=-1)
        ok = spectral / norm_y <= 1e-6
        if not ok.all():
            no = np.flatnonzero(maybe)[~ok]
            self._certify_recon(st, c[~ok], diff[~ok], Ac[no], zc[no])
        if not ok.any():
            return
        c = c[ok]
        now = st.loss(st.A[c], st.B[c], st.z[c], st.Sw[c], c)
        if decoder_step:
            before = st.loss(old[0][c], st.B[c], old[1][c], st.Sw[c], c)
        else:
            before = st.loss(st.A[c], old[0][c], st.z[c], old[1][c], c)
        ok = np.round(now - before, 8) == 0
        stop = np.zeros(st.idx.size, dtype=bool)
        stop[c[ok]] = True
        st.retire(stop, "notebook_rule", h)

    def _certify_recon(self, st: RunState, ids, D, A, z) -> None:
        """Start recon-error certificates for members ``ids`` whose computed recon matrix
        ``D = AA^T + Σ_Z - Σ_Y`` is above the rule's 1e-6 (``A``, ``z``: their A and Σ_Z).

        With ``v`` the unit eigenvector of D's eigenvalue largest in magnitude,
        ``|v^T D v| = ||D||_2`` now and ``|v^T D' v| <= ||D'||_2`` at every later step. A
        decoder step moves ``v^T D v`` by ``v^T (A'A'^T - AA^T) v + v^T ΔΣ_Z v``, at most
        ``dA (2a + dA) + dz`` with ``a >= ||A^T v||``, which grows by ``dA`` at most
        (:meth:`check`); ``||A^T v||`` is often a tenth of ``||A||_F``.

        The margin ``|v^T D v| - 1e-6 ||Σ_Y||_2`` is cut for rounding in the norms and the
        comparison, and by ``1e-10 s`` with ``s = ||A||_F^2 + ||Σ_Z||_F + ||Σ_Y||_F``: far more
        than the rounding error of the computed ``D`` (each entry a sum of ``m + 2`` terms),
        now or at any later step the margin lasts to (``s`` can grow at most tenfold before
        the decoder steps spend it). While it is positive the rule cannot stop the member,
        so its remaining tests are skipped.
        """
        try:
            w, V = np.linalg.eigh(D)
        except np.linalg.LinAlgError:  # not for finite D; then no certificate
            return
        top = np.argmax(np.abs(w), axis=-1)
        v = np.take_along_axis(V, top[:, None, None], axis=-1)
        a = fro(mT(A) @ v) * (1.0 + 1e-9)
        s = fro(A) ** 2 + fro(z) + st.fro_y[ids]
        lower = np.abs(np.take_along_axis(w, top[:, None], axis=-1)[:, 0])
        self.recon_margin[ids] = (
            lower * (1.0 - 1e-9) - 1e-6 * st.norm_y[ids] * (1.0 + 1e-9) - 1e-10 * s
        )
        self.a_bound[ids] = a
