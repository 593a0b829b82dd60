"""Collectors: one module per platform; ``collectors._base.get_collector(name)`` loads one."""
