"""Customers' data: where it lives (``datamap``), export, erasure, retention, redaction of
secrets and personal data, abuse limits and the audit trail.

Kept free of imports at package level so ``bot.settings`` can read the names of the
redaction rules without pulling in the storage layer.
"""
