^XA
^FX udipick item/lot label, 4 x 6 in, 203 dpi (812 x 1218 dots). See README.md.
^CI28
^PW812
^LL1218
^LH0,0
^CWJ,${unicode_font}
^FX --- item name: font J is the printer's Unicode (CJK) font
^FO40,40^AJN,44,44^TBN,732,130^FH_^FD${item_name}^FS
^FX --- GS1 DataMatrix (01)(17)(10)(21); escape character # declared, #1 = FNC1
^FO40,220^BXN,10,200,,,,#^FD${udi_datamatrix}^FS
^FX --- human-readable interpretation
^FO40,560^A0N,40,36^FH_^FD${gtin_line}^FS
^FO40,620^A0N,40,36^FH_^FD${lot_line}^FS
^FO40,680^A0N,40,36^FH_^FD${expiry_line}^FS
^FO40,740^A0N,40,36^FH_^FD${serial_line}^FS
^FO40,810^A0N,26,22^TBN,732,76^FH_^FD${hri}^FS
^XZ
