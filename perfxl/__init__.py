"""perfxl: validate, roll up and consolidate Chinese budget performance targets (预算绩效目标)."""

__version__ = "0.1.0"
