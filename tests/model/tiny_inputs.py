"""Inputs the model tests import by name (conftest modules are not importable reliably)."""

from PIL import Image


def shape_image(color=(220, 40, 40), size=(40, 32), box=(8, 6, 24, 22)):
    image = Image.new("RGB", size, (128, 128, 128))
    image.paste(color, box)
    return image
