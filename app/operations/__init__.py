"""Operations: backups and restores, field key rotation (docs/operations.md)."""
