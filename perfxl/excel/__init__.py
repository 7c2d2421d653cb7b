"""perfxl inside Excel: the macro-enabled template, its VBA project, and the ribbon's Python side.

Only this package imports xlwings. ``template`` builds ``workbooks/template.xlsm`` from the
sources in this folder (``vba/``, ``ribbon.xml``) and ``udfs.py``; ``buttons`` holds the
functions the ribbon runs; ``grid`` reads a workbook open in Excel for the label parser.
"""
