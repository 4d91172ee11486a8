"""Patch-based inference (MCUNetV2): the receptive-field analysis and the choice of split and grid
(analysis.py), the steps and buffers of the patch stage (stage.py), the patched Program (schedule.py)."""
