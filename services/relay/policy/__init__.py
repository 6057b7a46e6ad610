"""The relay's decisions as plain functions over plain values: no database, no I/O."""
