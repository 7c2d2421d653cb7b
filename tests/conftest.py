"""Session set-up: the Excel tests drive perfxl's buttons through xlwings' remote engine.

That engine is part of xlwings PRO; its PolyForm Noncommercial licence permits use by
government institutions and is selected by this key. It must be set before xlwings is first
imported, when xlwings registers its engines. perfxl's core and CLI never import xlwings PRO
(``tests/test_excel_buttons.py`` checks).
"""

from __future__ import annotations

import os

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

# The Word and PDF tests' ``seed`` fixture.
pytest_plugins = ["tests.documents"]
