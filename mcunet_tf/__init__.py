"""mcunet_tf: TinyNAS supernet, search, QAT and export for microcontrollers.

Names are imported lazily (PEP 562) so `import mcunet_tf` stays light: no TensorFlow until used.
`mcunet_tf.search(...)` runs the TinyNAS search (mcunet_tf/search.py; the module is callable).
"""

import importlib

_LAZY = {
    "search": ("mcunet_tf.search", None),  # the module itself: calling it runs search.search()
    "Budget": ("mcunet_tf.search", "Budget"),
    "SearchResult": ("mcunet_tf.search", "SearchResult"),
    "EvolutionSettings": ("mcunet_tf.search", "EvolutionSettings"),
    "optimise_space": ("mcunet_tf.search", "optimise_space"),
    "evolve": ("mcunet_tf.search", "evolve"),
    "Estimator": ("mcunet_tf.estimator", "Estimator"),
    "estimate": ("mcunet_tf.estimator", "estimate"),
    "Cost": ("mcunet_tf.estimator", "Cost"),
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'mcunet_tf' has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = importlib.import_module(module)
    return value if attr is None else getattr(value, attr)


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
