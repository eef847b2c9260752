^XA
^FX udipick item/lot label, 4 x 6 in, 300 dpi (1200 x 1800 dots). See README.md.
^CI28
^PW1200
^LL1800
^LH0,0
^CWJ,${unicode_font}
^FX --- item name: font J is the printer's Unicode (CJK) font
^FO59,59^AJN,65,65^TBN,1082,192^FH_^FD${item_name}^FS
^FX --- GS1 DataMatrix (01)(17)(10)(21); escape character # declared, #1 = FNC1
^FO59,325^BXN,15,200,,,,#^FD${udi_datamatrix}^FS
^FX --- human-readable interpretation
^FO59,828^A0N,59,53^FH_^FD${gtin_line}^FS
^FO59,916^A0N,59,53^FH_^FD${lot_line}^FS
^FO59,1005^A0N,59,53^FH_^FD${expiry_line}^FS
^FO59,1094^A0N,59,53^FH_^FD${serial_line}^FS
^FO59,1197^A0N,38,33^TBN,1082,112^FH_^FD${hri}^FS
^XZ
