"""Policy checks: one module per check; ``checks._base.registry()`` discovers them."""
