"""GenEval's scorer without mmdet: the official detector through transformers, its colour classifier and files.

The official Mask2Former (Swin-S, from MMDetection) and CLIP colour classifier, the pinned prompt
metadata and its line format, the official image-folder layout, and the paper's rows and report pictures.
"""
