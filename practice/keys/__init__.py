"""Key management: the only package that touches key material. Of the domain packages
it imports only audit/ (its commands are audited); auth/ and the services import it.

- keyring.py: master keys (key-encryption keys), kept outside the database;
- envelope.py: client data keys wrapped by a master key, and values encrypted with them;
- sealed.py: small secrets bound to one row (TOTP seeds), under a key derived per purpose;
- models.py: the client data key table;
- client_keys.py: client data keys in the database, sealing clinical values with them, and
  destroying one (crypto-shredding; the command with its retention rule is
  `flask clients shred`, practice/clients/cli.py, since keys/ must not import clients/);
- rotation.py: rotating and retiring master keys, rewrapping data keys, resealing secrets;
- cli.py: `flask keys status|rotate|retire`;
- errors.py: what goes wrong (ids at most in a message, never plaintext).
"""
