^XA
^FX udipick SSCC label without address blocks, 4 x 2 in, 203 dpi (812 x 406 dots).
^FX Only the (00) SSCC is a barcode here: content, count, lot and expiry are printed as text.
^CI28
^PW812
^LL406
^LH0,0
^CWJ,${unicode_font}
^FO30,15^A0N,24,20^FH_^FD${content_line}^FS
^FO30,45^A0N,24,20^FH_^FD${count_line}^FS
^FO430,15^A0N,24,20^FH_^FD${lot_line}^FS
^FO430,45^A0N,24,20^FH_^FD${expiry_line}^FS
^FO30,78^AJN,24,24^FH_^FD${to_name}^FS
^BY4^FO40,112^BCN,220,N,N,N,N^FD${sscc_barcode}^FS
^FO40,345^A0N,36,32^FH_^FD${sscc_hri}^FS
^XZ
