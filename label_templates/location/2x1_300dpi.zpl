^XA
^FX udipick storage location label, 2 x 1 in, 300 dpi (600 x 300 dots). See README.md.
^CI28
^PW600
^LL300
^LH0,0
^CWJ,${unicode_font}
^BY3^FO30,18^BCN,118,N,N,N,N^FD${code_barcode}^FS
^FO30,154^A0N,44,38^FH_^FD${code}^FS
^FO30,216^AJN,33,33^FH_^FD${description}^FS
^FO473,154^BXN,6,200,,,,#^FD${code_datamatrix}^FS
^XZ
