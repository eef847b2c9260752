^XA
^FX udipick storage location label, 2 x 1 in, 203 dpi (406 x 203 dots). See README.md.
^CI28
^PW406
^LL203
^LH0,0
^CWJ,${unicode_font}
^BY2^FO20,12^BCN,80,N,N,N,N^FD${code_barcode}^FS
^FO20,104^A0N,30,26^FH_^FD${code}^FS
^FO20,146^AJN,22,22^FH_^FD${description}^FS
^FO320,104^BXN,4,200,,,,#^FD${code_datamatrix}^FS
^XZ
