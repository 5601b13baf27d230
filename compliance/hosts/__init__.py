"""Host audit: inventory, SSH sessions, batched remote sections, check kinds, host policies."""
