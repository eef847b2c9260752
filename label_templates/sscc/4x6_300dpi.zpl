^XA
^FX udipick SSCC logistics label (GS1 Logistic Label Guideline), 4 x 6 in, 300 dpi (1200 x 1800 dots).
^FX Top: from / to / carrier. Middle: data in plain text. Bottom: GS1-128, SSCC last.
^CI28
^PW1200
^LL1800
^LH0,0
^CWJ,${unicode_font}
^FX --- supplier (from)
^FO44,30^A0N,30,27^FDFROM^FS
^FO44,67^AJN,41,41^FH_^FD${from_name}^FS
^FO44,118^AJN,35,35^FH_^FD${from_address_1}^FS
^FO44,160^AJN,35,35^FH_^FD${from_address_2}^FS
^FO44,201^AJN,35,35^FH_^FD${from_address_3}^FS
^FO30,251^GB1141,4,4^FS
^FX --- ship to
^FO44,269^A0N,30,27^FDSHIP TO^FS
^FO44,306^AJN,53,53^FH_^FD${to_name}^FS
^FO44,369^AJN,41,41^FH_^FD${to_address_1}^FS
^FO44,417^AJN,41,41^FH_^FD${to_address_2}^FS
^FO44,464^AJN,41,41^FH_^FD${to_address_3}^FS
^FO30,517^GB1141,4,4^FS
^FX --- carrier
^FO44,535^A0N,30,27^FDCARRIER^FS
^FO236,532^AJN,41,41^FH_^FD${carrier_name}^FS
^FO739,532^AJN,41,41^FH_^FD${carrier_service}^FS
^FO44,585^A0N,30,27^FDREF^FS
^FO236,582^AJN,38,38^FH_^FD${reference}^FS
^FO30,635^GB1141,4,4^FS
^FX --- data in human-readable form
^FO44,656^A0N,33,30^FDSSCC^FS
^FO236,650^A0N,50,44^FH_^FD${sscc}^FS
^FO44,718^A0N,41,35^FH_^FD${content_line}^FS
^FO44,771^A0N,41,35^FH_^FD${count_line}^FS
^FO635,718^A0N,41,35^FH_^FD${lot_line}^FS
^FO635,771^A0N,41,35^FH_^FD${expiry_line}^FS
^FO30,835^GB1141,4,4^FS
^FX --- GS1-128: (02)+(37), then (17)+(10), then (00) SSCC. Mode N, data written by udipick
^BY4^FO59,865^BCN,118,N,N,N,N^FD${content_barcode}^FS
^FO59,993^A0N,33,30^FH_^FD${content_hri}^FS
^BY3^FO59,1052^BCN,118,N,N,N,N^FD${batch_barcode}^FS
^FO59,1181^A0N,33,30^FH_^FD${batch_hri}^FS
^FO59,1256^A0N,33,30^FDSSCC^FS
^BY6^FO59,1298^BCN,340,N,N,N,N^FD${sscc_barcode}^FS
^FO59,1652^A0N,53,47^FH_^FD${sscc_hri}^FS
^XZ
