"""Small JPEG thumbnails beside the page, written once: the inputs of understanding tasks and generated images.

A log does not hold its input images; they come from rebuilding the task with the run's recorded settings
(`SavedRun.task`) and asking it for the sample's request, as the run did.  Samples that share an image (VQAv2
asks ~5 questions an image) share one thumbnail.  A thumbnail is named by a hash of the image's id and of what
else chose the image (the recorded data revision and settings; for a file, its path, time and size), so a run
started over on other data never shows an old one.  When the data cannot be read (hub data offline, a moved
folder) the browser shows no thumbnail and says why once, in `note`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable, Optional

from .layout import THUMB_PX

IMAGE_KEYS = ("image_id", "imageId", "image_source", "image")  # record fields that name the input image
THUMBS = "thumbs"


def _name(key: str) -> str:
    return hashlib.sha1(key.encode("utf-8", "replace")).hexdigest()[:16] + ".jpg"


class Thumbnails:
    """Thumbnails under `<data folder>/thumbs/`; paths returned relative to the data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = Path(data_dir) / THUMBS
        self.written = 0
        self.failures = 0
        self.first_failure = ""

    def _save(self, key: str, load: Callable[[], Any]) -> Optional[str]:
        name = _name(key)
        path = self.dir / name
        if not path.exists():
            try:
                image = load()
                image = image.convert("RGB")
                image.thumbnail((THUMB_PX, THUMB_PX))
                self.dir.mkdir(parents=True, exist_ok=True)
                image.save(path, "JPEG", quality=80)
                self.written += 1
            except Exception as exc:  # noqa: BLE001 - any unreadable image is a missing thumbnail, said once
                self.failures += 1
                self.first_failure = self.first_failure or (str(exc).splitlines() or [type(exc).__name__])[0][:200]
                return None
        return f"{THUMBS}/{name}"

    def of_file(self, path: Path) -> Optional[str]:
        """A generated image's thumbnail (None when the file is gone)."""
        from PIL import Image

        def load():
            with Image.open(path) as image:
                image.load()
                return image

        try:  # a file rewritten in place (a run started over) is another image
            stat = Path(path).stat()
        except OSError as exc:
            self.failures += 1
            self.first_failure = self.first_failure or f"{path}: {exc.strerror or exc}"
            return None
        return self._save(f"{Path(path).resolve()}|{stat.st_mtime_ns}|{stat.st_size}", load)


class InputImages(Thumbnails):
    """Thumbnails of an understanding task's input images, rebuilt from the task; gives up after a first
    failure with no success before it (the data is not there), so 214K samples do not fail 214K times."""

    def __init__(self, data_dir: Path, task, unavailable: str = "", scope: str = "") -> None:
        super().__init__(data_dir)
        self.task, self.unavailable = task, unavailable  # unavailable: why there is no task to rebuild
        self.scope = scope  # what else picks the image (data revision, settings): another scope, another name
        self.gave_up = task is None

    def of_record(self, record: dict) -> Optional[str]:
        if self.gave_up or "seed" not in record:
            return None
        from ..api import Sample

        named = next((f"{k}={record[k]}" for k in IMAGE_KEYS if record.get(k) not in (None, "")), f"id={record.get('id')}")
        key = f"{self.scope}|{named}"

        def load():
            return self.task.build_request(Sample(id=record["id"], doc=record), record["seed"]).image

        thumb = self._save(key, load)
        if thumb is None and self.written == 0 and self.failures == 1:
            self.gave_up = True
        return thumb

    @property
    def note(self) -> str:
        """Why some or all thumbnails are missing ("" when none is)."""
        if self.task is None:
            return f"no thumbnails: {self.unavailable}" if self.unavailable else ""
        if self.gave_up and self.failures:
            return f"no thumbnails: the input images could not be read ({self.first_failure})"
        if self.failures:
            return f"{self.failures} input images could not be read (first: {self.first_failure})"
        return ""
