"""Key management: the only package that touches key material.

- keyring.py: master keys (key-encryption keys), kept outside the database;
- envelope.py: client data keys wrapped by a master key, and values encrypted with them;
- sealed.py: small secrets bound to one row (TOTP seeds), under a key derived per purpose;
- models.py: the client data key table;
- client_keys.py: client data keys in the database, and sealing clinical values with them;
- rotation.py: rotating and retiring master keys, rewrapping data keys, resealing secrets;
- cli.py: `flask keys status|rotate|retire` and `flask clients shred`;
- errors.py: what goes wrong (ids at most in a message, never plaintext).
"""
