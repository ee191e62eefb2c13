"""The broadcast channel: one public post to everyone (Weibo), scheduled, capped, linted."""
