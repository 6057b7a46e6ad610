"""One module per provider slug, each defining ``KIT``: a ``ProviderKit``."""
