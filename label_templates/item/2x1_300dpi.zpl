^XA
^FX udipick item/lot label, 2 x 1 in, 300 dpi (600 x 300 dots). See README.md.
^CI28
^PW600
^LL300
^LH0,0
^CWJ,${unicode_font}
^FO18,18^BXN,6,200,,,,#^FD${udi_datamatrix}^FS
^FO251,18^AJN,30,30^TBN,337,56^FH_^FD${item_name}^FS
^FO251,89^A0N,27,22^FH_^FD${gtin}^FS
^FO251,124^A0N,27,22^FH_^FDL ${lot}^FS
^FO251,160^A0N,27,22^FH_^FDE ${expiry}^FS
^FO251,195^A0N,27,22^FH_^FDS ${serial}^FS
^XZ
