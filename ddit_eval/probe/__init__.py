"""The feature probe (the paper's Study 1): image features -> GPT-2 captions -> LM answers -> VQA accuracy.

Modules: `encoders` (registry; `@register_encoder` for your own), `cache` (features on disk),
`decoder` + `training` (the GPT-2 prefix captioner), `answerers` (local LM or chat endpoint),
`prompts`, `scoring` and `pipeline` (`run_feature_probe`).  The task is `tasks/feature_probe.py`.
"""
