^XA
^FX udipick licence plate (LPN) label, 4 x 2 in, 300 dpi (1200 x 600 dots). See README.md.
^CI28
^PW1200
^LL600
^LH0,0
^CWJ,${unicode_font}
^FO44,30^A0N,89,80^FH_^FD${lpn}^FS
^FO44,133^AJN,47,47^FH_^FD${description}^FS
^FO946,30^BXN,10,200,,,,#^FD${lpn_datamatrix}^FS
^BY4^FO44,273^BCN,296,N,N,N,N^FD${lpn_barcode}^FS
^XZ
