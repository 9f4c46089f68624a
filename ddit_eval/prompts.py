"""D-DiT's VQA prompt and text window, in one place: the benchmark tasks, the shapes suite and the tiny
model's trainer must all show the model the same text, or a score measures a prompt mismatch."""

DDIT_VQA = "Q: {question} Answer the question using a single word or phrase. A: "

# The released D-DiT's text window (prompt + answer tokens of a row), which the paper's protocol fills and
# the tasks' length settings are bounded by.  A model tells its own (`text_window`: the tiny one has 40 or
# 48); a run's notes say where a request asked for more than the model had.
TEXT_WINDOW = 128
