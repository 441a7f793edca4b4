"""The audit log: every access to personal or medical data, append-only and hash-chained."""
