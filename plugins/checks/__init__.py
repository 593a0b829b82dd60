"""Policy checks: one module per check; ``checks._base.registry()`` discovers them."""

from checks._native import install

install()  # the compiled named_children modules, when built from the sources as they are (checks/_native.py)
