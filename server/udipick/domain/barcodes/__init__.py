"""What did the handheld just read? GS1, GS1 Digital Link, HIBC, MA, AHM, GTIN and udipick's own labels."""

from udipick.domain.barcodes.hibc import check_character as hibc_check_character
from udipick.domain.barcodes.interpret import interpret
from udipick.domain.barcodes.scan import Element, Scan, ScanConfig

__all__ = ["Element", "Scan", "ScanConfig", "hibc_check_character", "interpret"]
