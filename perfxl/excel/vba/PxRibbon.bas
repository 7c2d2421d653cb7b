Attribute VB_Name = "PxRibbon"
' Ribbon callbacks of the perfxl template (tab defined in customUI/customUI14.xml).
' Each button runs one function of perfxl.excel.buttons through RunPython, from the
' standalone xlwings module in this project; the Python side shows its own messages.
' Keep this file ASCII: the VBA editor is not Unicode.
Option Explicit

Sub PxNewProject(control As IRibbonControl)
    RunPython "import perfxl.excel.buttons as b; b.new_project()"
End Sub

Sub PxValidate(control As IRibbonControl)
    RunPython "import perfxl.excel.buttons as b; b.validate()"
End Sub

Sub PxClear(control As IRibbonControl)
    RunPython "import perfxl.excel.buttons as b; b.clear()"
End Sub

Sub PxRollup(control As IRibbonControl)
    RunPython "import perfxl.excel.buttons as b; b.rollup()"
End Sub

Sub PxConsolidate(control As IRibbonControl)
    RunPython "import perfxl.excel.buttons as b; b.consolidate()"
End Sub

Sub PxExport(control As IRibbonControl)
    RunPython "import perfxl.excel.buttons as b; b.export()"
End Sub

Sub PxAbout(control As IRibbonControl)
    RunPython "import perfxl.excel.buttons as b; b.about()"
End Sub
