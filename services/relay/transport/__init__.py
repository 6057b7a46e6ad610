"""How a delivery goes over the wire: signed, to allowed addresses only, by HTTP."""
