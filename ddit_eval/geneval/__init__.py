"""GenEval's official detector (Mask2Former Swin-S from MMDetection) run through transformers, and its helpers."""
