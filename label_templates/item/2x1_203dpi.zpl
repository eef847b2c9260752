^XA
^FX udipick item/lot label, 2 x 1 in, 203 dpi (406 x 203 dots). See README.md.
^CI28
^PW406
^LL203
^LH0,0
^CWJ,${unicode_font}
^FO12,12^BXN,4,200,,,,#^FD${udi_datamatrix}^FS
^FO170,12^AJN,20,20^TBN,228,38^FH_^FD${item_name}^FS
^FO170,60^A0N,18,15^FH_^FD${gtin}^FS
^FO170,84^A0N,18,15^FH_^FDL ${lot}^FS
^FO170,108^A0N,18,15^FH_^FDE ${expiry}^FS
^FO170,132^A0N,18,15^FH_^FDS ${serial}^FS
^XZ
