"""D-DiT's VQA prompt, in one place: the benchmark tasks, the shapes suite and the tiny model's
trainer must all show the model the same text, or a score measures a prompt mismatch."""

DDIT_VQA = "Q: {question} Answer the question using a single word or phrase. A: "
