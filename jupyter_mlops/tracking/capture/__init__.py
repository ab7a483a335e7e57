"""What a tracked cell or script records besides what it logs: code facts, context slice, input
fingerprints, outputs and the environment. Plain Python: no IPython import here."""
