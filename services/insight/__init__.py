"""What receipts mean: reason classes, where a phone is, and the data behind them.

Pure functions over data shipped in ``data/``: nothing here touches the database.
"""
