^XA
^FX udipick storage location label, 4 x 6 in, 203 dpi (812 x 1218 dots). See README.md.
^CI28
^PW812
^LL1218
^LH0,0
^CWJ,${unicode_font}
^FO40,40^A0N,90,80^FH_^FD${code}^FS
^FO40,150^AJN,48,48^TBN,732,94^FH_^FD${description}^FS
^FX --- Code 128 in mode N (subset switches written by udipick)
^BY4^FO40,290^BCN,300,N,N,N,N^FD${code_barcode}^FS
^FX --- DataMatrix of the same code (escape character # declared)
^FO40,650^BXN,16,200,,,,#^FD${code_datamatrix}^FS
^XZ
