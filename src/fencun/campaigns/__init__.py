"""Campaign lifecycle, plans and the delivery outbox."""
