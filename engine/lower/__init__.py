"""Op -> kernel call: the checks before lowering, the Call contract (call.py), the lowerings
(ops/, one module per op family) and the integer arithmetic they share (quant.py, fixedpoint.py)."""
