^XA
^FX udipick storage location label, 4 x 2 in, 203 dpi (812 x 406 dots). See README.md.
^CI28
^PW812
^LL406
^LH0,0
^CWJ,${unicode_font}
^FO30,20^A0N,60,54^FH_^FD${code}^FS
^FO30,90^AJN,32,32^FH_^FD${description}^FS
^FO640,20^BXN,7,200,,,,#^FD${code_datamatrix}^FS
^BY3^FO30,185^BCN,200,N,N,N,N^FD${code_barcode}^FS
^XZ
