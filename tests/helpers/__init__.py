"""Helpers shared by the test folders, imported as ``helpers.<module>``.

``tests/`` is on ``sys.path`` (pyproject's ``[tool.pytest.ini_options] pythonpath``), so every test folder
imports these the same way, with no ``sys.path`` edits:

* ``benchmark_data`` - small copies of the understanding benchmarks in their hub schemas and layouts;
* ``harness`` - the CLI in a subprocess, a run's sample log, a process's descendants;
* ``tiny_clip`` - a tiny random CLIP config, a character-level CLIP tokenizer and a saved CLIP folder (no download);
* ``torch_threads`` - one torch thread for the tiny-model test packages;
* ``vqa_reference`` - an independent transcription of the official VQA scorer;
* ``yesno_reference`` - transcriptions of the official POPE and MME scorers.
"""
