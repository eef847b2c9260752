"""Receiving, one module per workflow: ``receipt`` (start a receipt, check every scan at the dock,
close it with its events to the ERP), ``putaway`` (licence plate to its storage location), ``qc``
(QA releases or rejects quarantined lots) and ``cancel`` (the ERP cancels a purchase order).
``common`` holds what more than one of them loads.

Each step loads and locks the facts, asks ``domain.receiving`` for the verdict and writes it with
its ledger rows and outbox events in one transaction, answering a typed msgspec struct (the JSON the
handheld reads).
"""
