^XA
^FX udipick SSCC logistics label (GS1 Logistic Label Guideline), 4 x 6 in, 203 dpi (812 x 1218 dots).
^FX Top: from / to / carrier. Middle: data in plain text. Bottom: GS1-128, SSCC last.
^CI28
^PW812
^LL1218
^LH0,0
^CWJ,${unicode_font}
^FX --- supplier (from)
^FO30,20^A0N,20,18^FDFROM^FS
^FO30,45^AJN,28,28^FH_^FD${from_name}^FS
^FO30,80^AJN,24,24^FH_^FD${from_address_1}^FS
^FO30,108^AJN,24,24^FH_^FD${from_address_2}^FS
^FO30,136^AJN,24,24^FH_^FD${from_address_3}^FS
^FO20,170^GB772,3,3^FS
^FX --- ship to
^FO30,182^A0N,20,18^FDSHIP TO^FS
^FO30,207^AJN,36,36^FH_^FD${to_name}^FS
^FO30,250^AJN,28,28^FH_^FD${to_address_1}^FS
^FO30,282^AJN,28,28^FH_^FD${to_address_2}^FS
^FO30,314^AJN,28,28^FH_^FD${to_address_3}^FS
^FO20,350^GB772,3,3^FS
^FX --- carrier
^FO30,362^A0N,20,18^FDCARRIER^FS
^FO160,360^AJN,28,28^FH_^FD${carrier_name}^FS
^FO500,360^AJN,28,28^FH_^FD${carrier_service}^FS
^FO30,396^A0N,20,18^FDREF^FS
^FO160,394^AJN,26,26^FH_^FD${reference}^FS
^FO20,430^GB772,3,3^FS
^FX --- data in human-readable form
^FO30,444^A0N,22,20^FDSSCC^FS
^FO160,440^A0N,34,30^FH_^FD${sscc}^FS
^FO30,486^A0N,28,24^FH_^FD${content_line}^FS
^FO30,522^A0N,28,24^FH_^FD${count_line}^FS
^FO430,486^A0N,28,24^FH_^FD${lot_line}^FS
^FO430,522^A0N,28,24^FH_^FD${expiry_line}^FS
^FO20,565^GB772,3,3^FS
^FX --- GS1-128: (02)+(37), then (17)+(10), then (00) SSCC. Mode N, data written by udipick
^BY3^FO40,585^BCN,80,N,N,N,N^FD${content_barcode}^FS
^FO40,672^A0N,22,20^FH_^FD${content_hri}^FS
^BY2^FO40,712^BCN,80,N,N,N,N^FD${batch_barcode}^FS
^FO40,799^A0N,22,20^FH_^FD${batch_hri}^FS
^FO40,850^A0N,22,20^FDSSCC^FS
^BY4^FO40,878^BCN,230,N,N,N,N^FD${sscc_barcode}^FS
^FO40,1118^A0N,36,32^FH_^FD${sscc_hri}^FS
^XZ
