"""Account operations: what a merchant runs on the Official Account besides campaigns —
the custom menu and the channel QR codes."""
