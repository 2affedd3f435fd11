"""Sizes, limits and labels of the identity formats, each with the reason beside it.

Protocol-wide labels (signature and hash domains) live in :mod:`hotline.constants`; the ones
here only concern files a station keeps for itself (the key file, ``peers.json``) and the card
encoding. docs/identity.md is the specification; these names appear there.
"""

from __future__ import annotations

from typing import Final

from hotline.constants import ED25519_SIGNATURE_LEN, MLDSA87_SIGNATURE_LEN, X25519_KEY_LEN

# --- Public key sizes (fixed by the algorithms) -----------------------------------------------
# The X25519 key and the two signature lengths are protocol-wide (hotline.constants); these are
# the signing keys' public halves, which only a card carries.
ED25519_PUBLIC_LEN: Final = 32
MLDSA87_PUBLIC_LEN: Final = 2592  # FIPS 204, table 2
#: Every private key is stored as 32 bytes: X25519 and Ed25519 raw scalars/seeds, and the
#: ML-DSA-87 key-generation seed ``xi`` (FIPS 204 §6.1), from which the full key is re-derived.
PRIVATE_KEY_LEN: Final = 32

# --- Card ---------------------------------------------------------------------------------------
#: The only card version this implementation reads or writes.
CARD_VERSION: Final = 1
#: A station name is at most 64 bytes: enough for "ministry-of-foreign-affairs.jerusalem", short
#: enough to print in a column and to read aloud.
MAX_NAME_LEN: Final = 64
#: A card lists at most 8 addresses (direct, backup, relays): more is a mistake, not redundancy.
MAX_ADDRESSES: Final = 8
#: ``host:port`` fits in 255 bytes, the DNS limit on a name (RFC 1035 §2.3.4) and a 1-byte prefix.
MAX_ADDRESS_LEN: Final = 255
#: Key and signature fields have a 2-byte length prefix; none of ours is longer than this.
MAX_KEY_FIELD_LEN: Final = 0xFFFF
#: A whole encoded card is at most this long (every field at its maximum): ~9.6 KiB.
MAX_CARD_LEN: Final = (
    1
    + (1 + MAX_NAME_LEN)
    + (2 + X25519_KEY_LEN)
    + (2 + ED25519_PUBLIC_LEN)
    + (2 + MLDSA87_PUBLIC_LEN)
    + 1
    + MAX_ADDRESSES * (1 + MAX_ADDRESS_LEN)
    + (2 + ED25519_SIGNATURE_LEN)
    + (2 + MLDSA87_SIGNATURE_LEN)
)
#: An armoured card arrives inside whatever text carried it (a whole e-mail, quoted twice): we
#: read at most 1 MiB of it, so a huge file cannot make us allocate without bound.
MAX_ARMOUR_TEXT_LEN: Final = 1 << 20
#: Armour body lines are 64 base64 characters, as PEM and OpenPGP write them.
ARMOUR_LINE_LEN: Final = 64
ARMOUR_BEGIN: Final = "-----BEGIN HOTLINE CARD-----"
ARMOUR_END: Final = "-----END HOTLINE CARD-----"
#: The armour checksum: the first 5 bytes (40 bits) of SHA-256 over the card, base32 (8 chars).
#: It only tells transit damage apart from forgery; the signatures give the integrity.
ARMOUR_CHECKSUM_LEN: Final = 5

# --- Fingerprint --------------------------------------------------------------------------------
#: 40 decimal digits: log2(10**40) = 132.9 bits of the SHA-512 digest, above the 128 we need.
FINGERPRINT_DIGITS: Final = 40
FINGERPRINT_GROUP: Final = 5

# --- Key file -------------------------------------------------------------------------------
#: PNG-style magic: the high-bit byte catches 7-bit transfers, CR LF and ^Z catch text-mode
#: conversion, so a mangled copy fails at byte 0 instead of as a "wrong passphrase".
KEYFILE_MAGIC: Final = b"\x89HLK\r\n\x1a\n"
KEYFILE_VERSION: Final = 1
#: The only KDF: Argon2id, version 0x13 (RFC 9106).
KDF_ARGON2ID: Final = 1
SALT_LEN: Final = 16  # RFC 9106 §3.1 recommends 16 bytes
NONCE_LEN: Final = 12  # AES-GCM's 96-bit nonce
TAG_LEN: Final = 16
DATA_KEY_LEN: Final = 32
#: magic, version, kdf id, memory KiB (u32), iterations (u32), lanes (u32), salt.
KEYFILE_HEADER_LEN: Final = len(KEYFILE_MAGIC) + 1 + 1 + 4 + 4 + 4 + SALT_LEN
#: header, then nonce + wrapped data key, then nonce + the three private keys, each with a tag.
KEYFILE_LEN: Final = (
    KEYFILE_HEADER_LEN
    + NONCE_LEN
    + DATA_KEY_LEN
    + TAG_LEN
    + NONCE_LEN
    + 3 * PRIVATE_KEY_LEN
    + TAG_LEN
)
#: Argon2id bounds accepted when *reading* a header. The floor keeps a tampered header from
#: silently weakening the file; the ceiling keeps a crafted header from making us allocate
#: gigabytes or spin for minutes (a denial of service by file).
KDF_MIN_MEMORY_KIB: Final = 8 * 1024
KDF_MAX_MEMORY_KIB: Final = 1024 * 1024
KDF_MIN_ITERATIONS: Final = 1
KDF_MAX_ITERATIONS: Final = 10
KDF_MIN_LANES: Final = 1
KDF_MAX_LANES: Final = 16

# --- At-rest subkeys of the data key (HKDF-SHA512 info strings) ---------------------------------
LABEL_PRIVATE_KEYS: Final = b"hotline/1 at rest: private keys"
LABEL_PEERS_MAC: Final = b"hotline/1 at rest: peers mac"

# --- peers.json ---------------------------------------------------------------------------------
PEERS_FORMAT: Final = "hotline-peers"
PEERS_VERSION: Final = 1
#: peers.json holds a few cards (~13 KiB each in base64) and their history: 16 MiB is far more
#: than any office needs and bounds what a tampered file can make us parse.
MAX_PEERS_FILE_LEN: Final = 16 << 20
#: ISO 8601 UTC timestamps to the second, as ``2025-11-25T09:47:00Z``.
TIMESTAMP_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"
