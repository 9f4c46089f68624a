"""The pixel double's reading of a question."""

from PIL import Image

from ddit_eval.api import AnswerRequest
from ddit_eval.doubles import PALETTE, PixelModel
from ddit_eval.shapes.scenes import BACKGROUND


def _red_square() -> Image.Image:
    image = Image.new("RGB", (32, 32), BACKGROUND)
    image.paste(PALETTE["red"], (8, 8, 24, 24))
    return image


def _answer(prompt: str) -> str:
    return PixelModel().answer([AnswerRequest(id="q", image=_red_square(), prompt=prompt, seed=0)])[0]


def test_only_the_q_frame_is_taken_off_a_question():
    assert _answer("Q: Is there a red shape? A: ") == "yes" and _answer("Q: Is there a blue shape? A: ") == "no"
    # a question that itself starts with q letters ("Q: ..."): one frame comes off, not every leading q, colon
    # and space, so what is left is no yes/no question and the double names the colour
    assert _answer("Q: Q: is there a blue shape? A: ") == "red"
