^XA
^FX udipick item/lot label, 4 x 2 in, 300 dpi (1200 x 600 dots). See README.md.
^CI28
^PW1200
^LL600
^LH0,0
^CWJ,${unicode_font}
^FO44,44^BXN,10,200,,,,#^FD${udi_datamatrix}^FS
^FO443,44^AJN,44,44^TBN,724,86^FH_^FD${item_name}^FS
^FO443,163^A0N,41,35^FH_^FD${gtin_line}^FS
^FO443,222^A0N,41,35^FH_^FD${lot_line}^FS
^FO443,281^A0N,41,35^FH_^FD${expiry_line}^FS
^FO443,340^A0N,41,35^FH_^FD${serial_line}^FS
^FO44,443^A0N,30,27^TBN,1123,86^FH_^FD${hri}^FS
^XZ
