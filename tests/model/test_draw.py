"""The cheap draw has the distribution of the official full-vocabulary Gumbel draw.

Deterministic (fixed seeds): chi-square tests on a fixed small distribution, outcome = the token
drawn or "still masked".  The same test rejects deliberately wrong draws, so it has power.
"""

import pytest
import torch

from ddit_eval.model.i2t import fast_draw, gumbel_draw, subs_probs

P = torch.tensor([0.4, 0.25, 0.15, 0.1, 0.07, 0.03, 0.0])  # last id = the mask token, probability 0
MASK = len(P) - 1
N = 200_000


def _counts(tokens):
    return torch.bincount(tokens, minlength=len(P)).double()


def _draw(kind, t, s, seed, probs=P):
    probs = probs.expand(N, -1).clone()
    tokens = torch.full((N,), MASK)
    g = torch.Generator().manual_seed(seed)
    if kind == "fast":
        return fast_draw(probs, tokens, MASK, (t - s) / t, g)
    return gumbel_draw(probs, tokens, MASK, t, s, g)


def _chi2_pvalue(stat, dof):
    return float(torch.special.gammaincc(torch.tensor(dof / 2, dtype=torch.float64), torch.tensor(stat / 2, dtype=torch.float64)))


def _fit_pvalue(counts, expected_probs):
    keep = expected_probs > 0
    expected = expected_probs[keep] * counts.sum()
    assert counts[~keep].sum() == 0  # impossible outcomes never happen
    return _chi2_pvalue(float(((counts[keep] - expected) ** 2 / expected).sum()), int(keep.sum()) - 1)


def _two_sample_pvalue(a, b):
    keep = (a + b) > 0
    a, b = a[keep], b[keep]
    total = a + b
    ea, eb = total * a.sum() / total.sum(), total * b.sum() / total.sum()
    stat = float(((a - ea) ** 2 / ea).sum() + ((b - eb) ** 2 / eb).sum())
    return _chi2_pvalue(stat, len(a) - 1)


def _expected(t, s):
    out = P.double() * (t - s) / t
    out[MASK] = s / t
    return out


@pytest.mark.parametrize("t,s", [(1.0, 0.9), (0.5, 0.4), (1e-5 + 1 / 32, 1e-5)])
def test_fast_and_gumbel_draws_have_the_official_distribution(t, s):
    fast, gumbel = _counts(_draw("fast", t, s, seed=1)), _counts(_draw("gumbel", t, s, seed=2))
    assert _fit_pvalue(fast, _expected(t, s)) > 1e-3
    assert _fit_pvalue(gumbel, _expected(t, s)) > 1e-3
    assert _two_sample_pvalue(fast, gumbel) > 1e-3


def test_the_test_detects_wrong_draws():
    t, s = 0.5, 0.4
    gumbel = _counts(_draw("gumbel", t, s, seed=2))
    wrong_rate = _counts(_draw("fast", t, s * 1.05 / 1.0, seed=1))  # unmasks with dt' != dt / t
    tempered = (P ** 1.1) / (P ** 1.1).sum()
    wrong_tokens = _counts(_draw("fast", t, s, seed=1, probs=tempered))  # tokens from a slightly wrong p
    for wrong in (wrong_rate, wrong_tokens):
        assert _fit_pvalue(wrong, _expected(t, s)) < 1e-6
        assert _two_sample_pvalue(wrong, gumbel) < 1e-6


def test_draws_keep_known_tokens_and_never_pick_the_mask():
    logits = torch.randn(3, 40, len(P))
    tokens = torch.randint(0, MASK, (3, 40))
    tokens[:, ::2] = MASK
    probs = subs_probs(logits, tokens, MASK)
    assert torch.allclose(probs.sum(-1), torch.ones(3, 40))
    assert (probs[..., MASK] == 0).all()
    g = torch.Generator().manual_seed(0)
    for row in range(3):
        for out in (fast_draw(probs[row], tokens[row], MASK, 0.5, g), gumbel_draw(probs[row], tokens[row], MASK, 0.5, 0.25, g)):
            known = tokens[row] != MASK
            assert torch.equal(out[known], tokens[row][known])
            assert (out[~known] != MASK).sum() > 0 and (out[~known] == MASK).sum() > 0
