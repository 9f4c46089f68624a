"""lmms-eval sets PIL's `ImageFile.LOAD_TRUNCATED_IMAGES = True` for the whole process when its tasks module loads.

Tests here import lmms-eval's tasks when they run (never at collection) and the flag is put back to its
value from before (read here, at collection) after each test, so tests elsewhere in the session still see
a truncated image fail as it should.
"""

import pytest
from PIL import ImageFile

BEFORE_LMMS_EVAL = ImageFile.LOAD_TRUNCATED_IMAGES


@pytest.fixture(autouse=True)
def pil_truncated_images_flag_kept():
    yield
    ImageFile.LOAD_TRUNCATED_IMAGES = BEFORE_LMMS_EVAL
