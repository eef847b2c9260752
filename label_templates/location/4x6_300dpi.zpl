^XA
^FX udipick storage location label, 4 x 6 in, 300 dpi (1200 x 1800 dots). See README.md.
^CI28
^PW1200
^LL1800
^LH0,0
^CWJ,${unicode_font}
^FO59,59^A0N,133,118^FH_^FD${code}^FS
^FO59,222^AJN,71,71^TBN,1082,139^FH_^FD${description}^FS
^FX --- Code 128 in mode N (subset switches written by udipick)
^BY6^FO59,429^BCN,443,N,N,N,N^FD${code_barcode}^FS
^FX --- DataMatrix of the same code (escape character # declared)
^FO59,961^BXN,24,200,,,,#^FD${code_datamatrix}^FS
^XZ
