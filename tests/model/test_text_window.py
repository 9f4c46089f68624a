"""The model tells its text window; a row that asks for more is clamped as before, and said so once."""

import json
from pathlib import Path

import pytest

from ddit_eval.api import AnswerRequest
from ddit_eval.doubles import PixelModel
from ddit_eval.errors import UsageError
from ddit_eval.model import DDiTDefaults
from ddit_eval.model.defaults import DEFAULTS_KEY
from ddit_eval.model.window import AnswerFit, ClampLog, fit_answer
from ddit_eval.prompts import TEXT_WINDOW

from tiny_inputs import shape_image

PROMPT = "Q: What color is the circle? Answer the question using a single word or phrase. A: "
COMMITTED = Path(__file__).parents[2] / "model" / "checkpoints" / "tiny-shapes" / "model_index.json"


def test_models_tell_their_text_window(tiny_model):
    assert tiny_model.text_window == tiny_model.defaults.text_length == 48
    assert PixelModel().text_window == TEXT_WINDOW == 128 and PixelModel().take_notes() == []


def test_the_fit_keeps_what_the_tokenizer_keeps(tiny_model):
    window = tiny_model.text_window
    for prompt in ("", PROMPT, PROMPT * 4):  # the last is cut: it holds more tokens than the window
        full = tiny_model.tokenize([prompt], None, pad=False, eos=False)[0]
        truncated = tiny_model.tokenize([prompt], window, pad=False, eos=False)[0]
        fit = fit_answer(full, None, window)
        assert list(fit.prompt) == truncated and fit.total == window and fit.need == len(full) + 1
    assert len(full) > window and len(truncated) == window - 1


def test_an_answer_past_the_window_is_clamped_and_noted_once(tiny_model):
    model = tiny_model.with_defaults()
    q_len = len(model.tokenize([PROMPT], None, pad=False, eos=False)[0])
    room = model.text_window - q_len

    def ask(answer_length, n=2):
        return model.answer([AnswerRequest(id=str(i), image=shape_image(), prompt=PROMPT, seed=i, steps=2,
                                           answer_length=answer_length) for i in range(n)])

    assert ask(room) and model.take_notes() == []  # a row that fits: nothing to say
    fitting = ask(room)
    assert ask(room + 20) == fitting  # clamped to the same row as before
    ask(room + 30, n=1)
    assert model.take_notes() == [f"prompt + answer need up to {q_len + room + 30} tokens; the model's text window is "
                                  f"{model.text_window}: clamped (3 of 5 answers)"]
    assert model.take_notes() == []


def test_the_clamp_note_counts_rows_and_the_largest_need():
    log = ClampLog(48)
    log.record([AnswerFit((1,) * 20, 48, 60), AnswerFit((1,) * 20, 30, 30)])
    log.record([AnswerFit((1,) * 20, 48, 50)])
    assert log.take_notes() == ["prompt + answer need up to 60 tokens; the model's text window is 48: clamped (2 of 3 answers)"]
    log.record([AnswerFit((), 48, 130)])
    assert log.take_notes() == ["prompt + answer need 130 tokens; the model's text window is 48: clamped (every answer)"]


def test_defaults_are_written_and_read_by_one_pair():
    committed = json.loads(COMMITTED.read_text())
    tiny = DDiTDefaults.from_index(committed)
    assert tiny == DDiTDefaults(resolution=32, text_length=40, t2i_text_length=24)
    assert tiny.to_index(committed) == committed  # the committed checkpoint's key, as the pair writes it
    bare = {k: v for k, v in committed.items() if k != DEFAULTS_KEY}
    assert DDiTDefaults().to_index(committed) == bare  # the paper's defaults: no key, as a released checkpoint
    assert DDiTDefaults.from_index(bare) == DDiTDefaults()
    future = {**bare, DEFAULTS_KEY: {"text_length": 40, "not_yet_known": 1}}
    assert DDiTDefaults.from_index(future, draw="gumbel") == DDiTDefaults(text_length=40, draw="gumbel")
    with pytest.raises(UsageError, match="unknown option 'drow'"):
        DDiTDefaults.from_index(bare, drow="gumbel")
