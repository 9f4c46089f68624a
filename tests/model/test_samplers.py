"""Both samplers against plain re-statements of the official algorithms (spec sections 2 and 3).

Text: the official batch-1 `ddpm_cache` loop (log-space SUBS, q = p (t - s) with q[mask] = s, Gumbel
argmax with `rand_like` noise, cache dropped when any token changed, final forward + argmax) on a
toy denoiser, against the backend's batched sampler fed the same random numbers.
Image: diffusers' FlowMatchEulerDiscreteScheduler.step with separate conditional and unconditional
calls, against the backend's one-batch CFG loop.
"""

import pytest
import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from ddit_eval.api import AnswerRequest, CaptionRequest
from ddit_eval.model.i2t import TextSampling, sample_tokens
from ddit_eval.model.t2i import euler_cfg, initial_noise, sigma_schedule

from tiny_inputs import shape_image

V, L, MASK = 24, 10, 23


class ToyDenoiser:
    """Logits that depend on every token of the row (so unmasking one token changes the others)."""

    def __init__(self, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.embed, self.out = torch.randn(V, 16, generator=g), torch.randn(16, V, generator=g) * 2
        self.position = torch.randn(L, 16, generator=g)
        self.calls, self.rows = 0, 0

    def __call__(self, tokens):
        self.calls, self.rows = self.calls + 1, self.rows + tokens.shape[0]
        context = self.embed[tokens].mean(1, keepdim=True)
        return torch.tanh(self.embed[tokens] + context + self.position) @ self.out


def official_sample(denoiser, prompt, steps, generator, eps=1e-5):
    """The official ConditionalMaskedDiffusionSampler.sample for one row (`prompt`: fixed ids, -1 = masked)."""

    def forward(x):
        logits = denoiser(x).float()
        logits[:, :, MASK] += -1e6
        logits = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
        unmasked = x != MASK
        logits[unmasked] = -1e6
        logits[unmasked, x[unmasked]] = 0
        return logits

    x = torch.where(prompt >= 0, prompt, MASK)[None]
    times = torch.linspace(1, eps, steps + 1, dtype=torch.float64).tolist()
    dt = (1 - eps) / steps
    p_x0 = None
    for i in range(steps):
        t, s = times[i], times[i] - dt
        if p_x0 is None:
            p_x0 = forward(x).exp()
        q = p_x0 * (t - s)
        q[:, :, MASK] = s
        gumbel = 1e-10 - (torch.rand(q.shape, generator=generator) + 1e-10).log()
        drawn = (q / gumbel).argmax(dim=-1)
        x_next = torch.where(x != MASK, x, drawn)
        if not torch.equal(x_next, x):
            p_x0 = None
        x = x_next
    return forward(x).argmax(dim=-1)[0]


def _prompts(n):
    g = torch.Generator().manual_seed(5)
    out = []
    for i in range(n):
        prompt = torch.full((L,), -1)
        q_len = i % 5  # per-row prompt lengths, 0 = captioning
        prompt[:q_len] = torch.randint(0, MASK, (q_len,), generator=g)
        out.append(prompt)
    return out


def _backend_sample(denoiser, prompts, seeds, steps, cache):
    tokens = torch.stack([torch.where(p >= 0, p, MASK) for p in prompts])
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    rows = []
    out = sample_tokens(lambda r, ids: denoiser(ids), tokens, MASK, generators,
                        TextSampling(steps=steps, draw="gumbel", cache=cache), rows.append)
    return out, rows


@pytest.mark.parametrize("steps", [1, 6, 40])
def test_text_sampler_equals_the_official_loop(steps):
    prompts, seeds = _prompts(8), [100 + i for i in range(8)]
    official = [official_sample(ToyDenoiser(), p, steps, torch.Generator().manual_seed(s)) for p, s in zip(prompts, seeds)]
    for p, o in zip(prompts, official):
        assert torch.equal(o[p >= 0], p[p >= 0])  # prompt tokens stay
        assert (o != MASK).all()  # final argmax leaves no mask
    for cache in ["batch", "row", "none"]:
        mine, rows = _backend_sample(ToyDenoiser(), prompts, seeds, steps, cache)
        assert [r.tolist() for r in mine] == [o.tolist() for o in official], cache
        assert len(rows) <= steps + 1 and all(n <= 8 for n in rows)
    row_rows = sum(_backend_sample(ToyDenoiser(), prompts, seeds, steps, "row")[1])
    none_rows = sum(_backend_sample(ToyDenoiser(), prompts, seeds, steps, "none")[1])
    assert none_rows == 8 * (steps + 1)
    if steps == 40:  # most steps unmask nothing in a row: per-row caching skips those rows
        assert row_rows < none_rows // 2


def test_backend_calls_the_model_no_more_than_the_official_loop():
    """One call per step whose tokens changed; the final call reuses the cache when the last step changed nothing."""
    for seed in range(5):
        official, mine = ToyDenoiser(), ToyDenoiser()
        official_sample(official, _prompts(1)[0], 40, torch.Generator().manual_seed(seed))
        _backend_sample(mine, _prompts(1), [seed], 40, "batch")
        assert official.calls - 1 <= mine.calls <= official.calls < 41


def test_whole_sampler_fast_draw_has_the_official_distribution():
    """Chi-square on whole generated sequences (3 positions, 4 tokens), fast vs official draw."""
    from test_draw import _two_sample_pvalue

    v, mask, n = 5, 4, 3000
    table = torch.tensor([[1.0, 0.2, -0.5, 0.3], [0.1, 0.9, 0.4, -1.0], [-0.3, 0.2, 0.8, 0.5], [0.0] * 4])

    def denoise(rows, ids):  # a token's logits depend on the other tokens: order of unmasking matters
        present = torch.nn.functional.one_hot(ids, v).float().sum(1)[:, :mask] @ table[:mask]
        logits = present[:, None, :] * torch.tensor([1.0, -0.7, 0.4])[None, :, None]
        return torch.cat([logits, torch.zeros(len(ids), 3, 1)], -1)

    def outcomes(draw, seed, steps=4):
        gens = [torch.Generator().manual_seed(seed * 100_000 + i) for i in range(n)]
        out = sample_tokens(denoise, torch.full((n, 3), mask), mask, gens, TextSampling(steps=steps, draw=draw, cache="row"))
        return torch.bincount(out[:, 0] * 16 + out[:, 1] * 4 + out[:, 2], minlength=64).double()

    gumbel = outcomes("gumbel", 2)
    assert _two_sample_pvalue(outcomes("fast", 1), gumbel) > 1e-3
    assert _two_sample_pvalue(outcomes("gumbel", 3), gumbel) > 1e-3  # calibration: same draw, other seeds
    # power: one step (every position drawn at once, independently) is a different distribution
    assert _two_sample_pvalue(outcomes("fast", 4, steps=1), gumbel) < 1e-6


class Recorder:
    """Wraps the transformer: records each call's rows, timesteps and velocity."""

    def __init__(self, transformer):
        self.transformer, self.calls = transformer, []
        self.config = transformer.config

    def __call__(self, hidden_states, encoder_hidden_states, timestep):
        out = self.transformer(hidden_states=hidden_states, encoder_hidden_states=encoder_hidden_states, timestep=timestep)
        self.calls.append((hidden_states.shape[0], timestep.clone()))
        return out


@torch.inference_mode()
def test_image_sampler_equals_diffusers_scheduler_steps(tiny_model):
    m, steps, guidance = tiny_model, 5, 7.0
    ids = torch.tensor(m.tokenize(["a photo of a red circle", "two blue squares", "", ""], m.defaults.t2i_text_length))
    states = m.codec.encode_text(ids)
    cond, uncond = states[:2], states[2:]
    noise = initial_noise([3, 4], (4, 16, 16))
    recorder = Recorder(m.transformer)
    mine = euler_cfg(recorder, noise, cond, uncond, sigma_schedule(m.scheduler.config, steps), guidance)
    assert [n for n, _ in recorder.calls] == [4] * steps  # [uncond; cond] in one batch per step

    scheduler = FlowMatchEulerDiscreteScheduler.from_config(m.scheduler.config)
    scheduler.set_timesteps(steps)
    latents = noise.clone()
    for (_, seen), t in zip(recorder.calls, scheduler.timesteps):
        assert seen.dtype == torch.float32 and torch.equal(seen, t.expand(4))
        v_cond = m.transformer(hidden_states=latents, encoder_hidden_states=cond, timestep=t.expand(2))[0]
        v_uncond = m.transformer(hidden_states=latents, encoder_hidden_states=uncond, timestep=t.expand(2))[0]
        latents = scheduler.step(v_uncond + guidance * (v_cond - v_uncond), t, latents).prev_sample
    assert torch.allclose(mine, latents, atol=1e-4, rtol=1e-4)
    assert (mine - noise).abs().mean() > 0.1


def test_low_precision_latents_get_fp32_timesteps():
    """The SD3 pipeline feeds fp32 timesteps; in bf16, 1000 * sigma would round to multiples of 4."""
    seen = []

    def transformer(hidden_states, encoder_hidden_states, timestep):
        seen.append(timestep)
        return torch.zeros_like(hidden_states), None

    sigmas = sigma_schedule(FlowMatchEulerDiscreteScheduler(shift=3.0).config, 28)
    latents = torch.zeros(1, 4, 8, 8, dtype=torch.bfloat16)
    context = torch.zeros(1, 3, 8, dtype=torch.bfloat16)
    euler_cfg(transformer, latents, context, context, sigmas, 7.0)
    assert all(t.dtype == torch.float32 for t in seen)
    assert [t[0].item() for t in seen] == (sigmas[:-1] * 1000).tolist()


def test_dynamic_shifting_follows_the_sd3_pipeline():
    from diffusers.pipelines.stable_diffusion_3.pipeline_stable_diffusion_3 import calculate_shift

    config = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15).config
    reference = FlowMatchEulerDiscreteScheduler.from_config(config)
    reference.set_timesteps(10, mu=calculate_shift(1024, 256, 4096, 0.5, 1.15))
    assert torch.allclose(sigma_schedule(config, 10, image_seq_len=1024), reference.sigmas.float())
    with pytest.raises(ValueError):
        sigma_schedule(config, 10)


def _infill_stub(model, outputs):
    """Replace the sampler by fixed token lists; record the (prompt, total length) of each row and the steps."""
    seen = []

    def infill(jobs, steps):
        seen.append(([(list(j.prompt), j.total) for j in jobs], steps))
        return [list(j.prompt) + outputs[i][: j.total - len(j.prompt)] for i, j in enumerate(jobs)]

    model._infill = infill
    return seen


def test_answers_are_cut_at_the_first_eos_per_row(tiny_model):
    m = tiny_model.with_defaults()
    tok = lambda words: m.tokenizer.convert_tokens_to_ids([f"▁{w}" if w != "</s>" else w for w in words.split()])
    seen = _infill_stub(m, [tok("red </s> blue"), tok("two blue squares"), tok("</s> red"), tok("yes </s> </s> no")])
    prompt = "Q: What color is the circle? Answer the question using a single word or phrase. A: "
    requests = [AnswerRequest(id=str(i), image=shape_image(), prompt=prompt, seed=i) for i in range(3)]
    requests.append(AnswerRequest(id="3", image=shape_image(), prompt="Q: Is there a circle? A: ", seed=3, answer_length=3))
    assert m.answer(requests) == ["red", "two blue squares", "", "yes"]  # no eos: nothing dropped
    (rows, steps), = seen
    q_len = len(m.tokenize([prompt], m.text_length, pad=False, eos=False)[0])
    assert rows[0][0] == m.tokenize([prompt], m.text_length, pad=False)[0][:-1]  # prompt without its </s>
    assert [total for _, total in rows[:3]] == [m.text_length] * 3  # paper protocol: every position after the prompt
    assert rows[3][1] == len(rows[3][0]) + 3 and q_len == len(rows[0][0])
    assert steps == [32] * 4


def test_captions_drop_every_eos(tiny_model):
    m = tiny_model.with_defaults()
    ids = m.tokenizer.convert_tokens_to_ids(["▁a", "▁red", "</s>", "▁circle", "</s>"])
    seen = _infill_stub(m, [ids])
    assert m.caption([CaptionRequest(id="c", image=shape_image(), seed=0)]) == ["a red circle"]
    assert seen == [([([], m.text_length)], [64])]
