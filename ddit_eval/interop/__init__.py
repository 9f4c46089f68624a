"""Interoperability with lmms-eval, in both directions.

`lmms_model` makes D-DiT an lmms-eval model (`lmms-eval --model ddit`);
`lmms_results` writes a ddit-eval run in lmms-eval's result-file layout.

This module stays light: lmms-eval imports it for every invocation (through
the `lmms_eval.models` entry point) just to learn the model's name.
"""

LMMS_MODEL_ID = "ddit"
LMMS_MODEL_CLASS = "ddit_eval.interop.lmms_model.DDiTLmms"


def lmms_eval_models():
    """The `lmms_eval.models` entry point: D-DiT as a simple (non-chat) lmms-eval model.

    lmms-eval 0.7.3 imports the class path with `rsplit(".", 1)`, so it must be
    dotted (module.Class), not the `module:Class` form of entry points.
    """
    from lmms_eval.models.registry_v2 import ModelManifest

    return ModelManifest(model_id=LMMS_MODEL_ID, simple_class_path=LMMS_MODEL_CLASS)
