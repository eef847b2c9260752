^XA
^FX udipick item/lot label, 4 x 2 in, 203 dpi (812 x 406 dots). See README.md.
^CI28
^PW812
^LL406
^LH0,0
^CWJ,${unicode_font}
^FO30,30^BXN,7,200,,,,#^FD${udi_datamatrix}^FS
^FO300,30^AJN,30,30^TBN,490,58^FH_^FD${item_name}^FS
^FO300,110^A0N,28,24^FH_^FD${gtin_line}^FS
^FO300,150^A0N,28,24^FH_^FD${lot_line}^FS
^FO300,190^A0N,28,24^FH_^FD${expiry_line}^FS
^FO300,230^A0N,28,24^FH_^FD${serial_line}^FS
^FO30,300^A0N,20,18^TBN,760,58^FH_^FD${hri}^FS
^XZ
