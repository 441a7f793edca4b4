"""The card credential: signed QR (COSE_Sign1 / ES256), issuer key store and revocation list."""
