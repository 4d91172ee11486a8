"""Lowerings of every supported op kind; importing this package registers them.

Every module in this package is imported, so adding an op is adding a module.
"""

import importlib
import pkgutil

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")
