"""Staging models: architectures, the patch-to-input function, bundles, soft voting, the fused ensemble.

Only :mod:`.inputs`, :mod:`.voting`, :mod:`.specs` and :mod:`.errors` are free of TensorFlow at import
time; every other module imports Keras inside its functions, so importing this package stays fast.
"""
