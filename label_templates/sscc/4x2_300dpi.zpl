^XA
^FX udipick SSCC label without address blocks, 4 x 2 in, 300 dpi (1200 x 600 dots).
^FX Only the (00) SSCC is a barcode here: content, count, lot and expiry are printed as text.
^CI28
^PW1200
^LL600
^LH0,0
^CWJ,${unicode_font}
^FO44,22^A0N,35,30^FH_^FD${content_line}^FS
^FO44,67^A0N,35,30^FH_^FD${count_line}^FS
^FO635,22^A0N,35,30^FH_^FD${lot_line}^FS
^FO635,67^A0N,35,30^FH_^FD${expiry_line}^FS
^FO44,115^AJN,35,35^FH_^FD${to_name}^FS
^BY6^FO59,166^BCN,325,N,N,N,N^FD${sscc_barcode}^FS
^FO59,510^A0N,53,47^FH_^FD${sscc_hri}^FS
^XZ
