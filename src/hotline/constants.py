"""Every protocol constant of Hotline, in one file (as wireguard-go keeps ``device/constants.go``).

Nothing here is negotiated: a peer that disagrees with any of these values simply fails to talk
to us. Changing a value that reaches the wire is a new protocol version (``PROTOCOL_VERSION``).
"""

from __future__ import annotations

from typing import Final

# --- Version -----------------------------------------------------------------------------------
#: Carried in every Noise prologue. A new version changes the prologue, so old and new never mix.
PROTOCOL_VERSION: Final = b"hotline/1"

# --- Signature labels ------------------------------------------------------------------------
# Every signature in Hotline carries its own label, so that none can be replayed for another
# purpose. Ed25519 signs ``label || message``; ML-DSA-87 signs ``message`` with ``label`` as its
# FIPS 204 context string. No label is a prefix of another.
LABEL_HANDSHAKE_PROOF: Final = b"hotline/1 handshake proof"
LABEL_CARD: Final = b"hotline/1 card"
LABEL_CHAIN_HEAD: Final = b"hotline/1 chain head"
LABEL_RECEIPT: Final = b"hotline/1 receipt"
LABEL_CHECKPOINT: Final = b"hotline/1 checkpoint"
LABEL_STATEMENT: Final = b"hotline/1 statement"

# --- The handshake (docs/protocol.md §2) ---------------------------------------------------------
#: The one Noise suite a station runs. Nothing is negotiated: any other name is refused.
#: KKhfs = ``-> s  <- s  ...  -> e, es, e1, ss  <- e, ee, ekem1, se`` (snow/Signal placement).
NOISE_PROTOCOL_NAME: Final = "Noise_KKhfs_25519+MLKEM1024_AESGCM_SHA512"

#: A line id is SHA-512 of both cards' fingerprints, sorted: 64 bytes, carried in the prologue.
LINE_ID_LEN: Final = 64

#: ``mac1`` is the first 32 bytes of HMAC-SHA512: 256 bits against forgery, as WireGuard's 128
#: bits doubled for the post-quantum (Grover) margin the rest of the suite keeps.
MAC1_LEN: Final = 32
#: HKDF info prefix of the per-pair, per-direction mac1 key (the sender's static key follows).
MAC1_KEY_INFO: Final = b"hotline/1 mac1"
#: mac1 is an HMAC over ``SHA-512(LABEL_MSG1_DIGEST || noise_msg1)``, not over msg1 itself: a
#: responder hashes a msg1 once, then pays one HMAC over 64 bytes per paired peer.
LABEL_MSG1_DIGEST: Final = b"hotline/1 msg1 digest"

#: msg1 payload: the initiator's timestamp, milliseconds since the Unix epoch, big-endian u64.
TIMESTAMP_LEN: Final = 8
#: A responder refuses a msg1 whose timestamp is more than this many seconds behind its own
#: clock (``StaleTimestampError``), before any KEM work, so a genuine msg1 held back by the
#: network cannot cost an encapsulation later. Its initiator gave up on it after
#: ``HANDSHAKE_DEADLINE`` (5 s); the rest is room for clock disagreement, 120 times the 1 s at
#: which the clock alarm already rings (``CLOCK_SKEW_BOUND_MS``): the alarm, not this bound,
#: polices clocks, and a line must stay up through any error an operator has not fixed yet.
MSG1_MAX_AGE: Final = 120.0
#: ... or more than this many seconds ahead of it. Bounding both sides bounds how long a held-back
#: msg1 stays usable: at most ``MSG1_MAX_AGE + MSG1_MAX_FUTURE`` after it was made.
MSG1_MAX_FUTURE: Final = 120.0
#: A msg1 opening a new connection is refused, before any DH, if it arrives less than this many
#: seconds after the last msg1 accepted from the same peer (WireGuard's HandshakeInitationRate,
#: 1/50 s): at most 50 encapsulations a second per peer, whatever reaches us. A real peer dials
#: one stream at a time, with backoff, so it never sends two msg1s that close together.
MSG1_MIN_INTERVAL: Final = 1 / 50

#: Raw X25519 key and DH output length (RFC 7748).
X25519_KEY_LEN: Final = 32
#: ML-KEM-1024 encapsulation key and ciphertext lengths (FIPS 203, Table 3).
MLKEM1024_PUBLIC_KEY_LEN: Final = 1568
MLKEM1024_CIPHERTEXT_LEN: Final = 1568
#: The AES-256-GCM tag on every encrypted field and transport message.
AEAD_TAG_LEN: Final = 16

#: Exact handshake message sizes (any other length is refused before any work):
#: msg1 = e (32) + EncryptAndHash(e1 pk: 1568) (+16 tag) + EncryptAndHash(timestamp) (+16 tag).
NOISE_MSG1_LEN: Final = (
    X25519_KEY_LEN + (MLKEM1024_PUBLIC_KEY_LEN + AEAD_TAG_LEN) + (TIMESTAMP_LEN + AEAD_TAG_LEN)
)
#: msg1 on the wire: the Noise message followed by its mac1.
MSG1_LEN: Final = NOISE_MSG1_LEN + MAC1_LEN
#: msg2 = e (32) + EncryptAndHash(ekem1 ct: 1568) (+16 tag) + EncryptAndHash(empty) (16 tag).
MSG2_LEN: Final = X25519_KEY_LEN + (MLKEM1024_CIPHERTEXT_LEN + AEAD_TAG_LEN) + AEAD_TAG_LEN
#: Ed25519 (64) and ML-DSA-87 (4627) signatures in a PROOF frame body.
ED25519_SIGNATURE_LEN: Final = 64
MLDSA87_SIGNATURE_LEN: Final = 4627
#: A proof flight: one transport message holding a PROOF frame (2-byte header + both signatures).
PROOF_LEN: Final = 2 + ED25519_SIGNATURE_LEN + MLDSA87_SIGNATURE_LEN + AEAD_TAG_LEN

# --- Pre-authentication limits, enforced by the I/O layer (docs/protocol.md §2.7) ----------------
#: Connections that have not finished a handshake, all sources together. Each costs a bounded
#: receive buffer and, once mac1 identified a paired peer, one handshake; 64 is far more than a
#: handful of paired stations ever need at once, and small enough that a flood stays cheap.
MAX_PREAUTH_CONNECTIONS: Final = 64
#: Unauthenticated connections from one source address: a station dials each path once, plus a
#: crossing dial and a retry; more than 4 from one address is a flood, not a peer.
MAX_PREAUTH_PER_SOURCE: Final = 4
#: Seconds from accept (or dial) to both proofs verified. The four flights take two round trips
#: and ~10 ms of CPU; 5 s (WireGuard's REKEY_TIMEOUT) covers a slow satellite path.
HANDSHAKE_DEADLINE: Final = 5.0

# --- Rekey and session lifetime, WireGuard's values (device/constants.go) -------------------------
#: The initiator of the current session starts a new handshake after this many seconds.
REKEY_AFTER_TIME: Final = 120.0
#: The responder of the current session rekeys after this many seconds, if the initiator did not.
RESPONDER_REKEY_AFTER_TIME: Final = 130.0
#: A session whose keys are this old is refused: the connection closes.
REJECT_AFTER_TIME: Final = 180.0
#: A rekey handshake that has not completed after this many seconds is started again.
REKEY_TIMEOUT: Final = 5.0
#: Start a rekey once this many messages were sent under one session's keys. Not WireGuard's
#: 2**60, which is ChaCha20-Poly1305's: AES-GCM's bound depends on the AES blocks encrypted under
#: one key. RFC 8446 §5.5 allows 2**24.5 TLS records of 2**14 bytes (~2**34.5 blocks) for a
#: ~2**-57 margin; our messages reach 64 KiB (2**12 blocks), so 2**22 of them are 2**34 blocks.
#: A session lasts 120 s, so only a line moving over ~35,000 messages/s rekeys by count first.
REKEY_AFTER_MESSAGES: Final = 2**22
#: Never send or accept a transport message with a nonce at or above this: twice the rekey point
#: (2**35 blocks of 64 KiB messages, a ~2**-56 margin), room for a rekey to finish.
REJECT_AFTER_MESSAGES: Final = 2**23

# --- Session wire and frames (docs/protocol.md §3) -----------------------------------------------
#: Every Noise message on a stream is preceded by its length, 2 bytes big-endian (Noise §3 caps
#: a message at 65535 bytes so that it fits).
LENGTH_PREFIX_LEN: Final = 2
#: Largest Noise message (Noise spec §3).
MAX_NOISE_MESSAGE_LEN: Final = 65535
#: Largest frame: the plaintext of one transport message (the AEAD tag takes 16 bytes).
MAX_FRAME_LEN: Final = MAX_NOISE_MESSAGE_LEN - 16
#: Frame header: version byte, type byte.
FRAME_HEADER_LEN: Final = 2
#: Largest frame body.
MAX_FRAME_BODY_LEN: Final = MAX_FRAME_LEN - FRAME_HEADER_LEN
#: The one frame version this code speaks; any other is refused.
FRAME_VERSION: Final = 0x01

#: Frame type codes. Later issues add theirs here, never reusing a code.
FRAME_HELLO: Final = 0x01
FRAME_DATA: Final = 0x02
FRAME_PING: Final = 0x03
FRAME_PONG: Final = 0x04
FRAME_REKEY: Final = 0x05
FRAME_SWITCH: Final = 0x06
FRAME_CLOSE: Final = 0x07
FRAME_PROOF: Final = 0x08
#: Delivery frames (docs/protocol.md §4.1): sync, envelopes with their heads, receipts,
#: refusals, and the request a restored station makes for its own envelopes.
FRAME_SYNC: Final = 0x10
FRAME_ENVELOPES: Final = 0x11
FRAME_HEAD: Final = 0x12
FRAME_RECEIPT: Final = 0x13
FRAME_NACK: Final = 0x14
FRAME_FETCH: Final = 0x15
FRAME_CHECKPOINT_PROPOSE: Final = 0x16
FRAME_CHECKPOINT_COSIGN: Final = 0x17
FRAME_CHECKPOINT_COUNTERSIGN: Final = 0x18
FRAME_CHECKPOINT_RESEND: Final = 0x19

#: HELLO body: small for now; later issues carry sync heads in it (a few hashes and counters).
MAX_HELLO_LEN: Final = 4096
#: DATA body: opaque bytes, as many as fit in one frame.
MAX_DATA_LEN: Final = MAX_FRAME_BODY_LEN
#: CLOSE text: one short line for the operator's log, UTF-8.
MAX_CLOSE_TEXT_LEN: Final = 128
#: REKEY body carries one flight of the next handshake; the largest is a proof.
MAX_REKEY_MESSAGE_LEN: Final = PROOF_LEN
#: Pings awaiting their pong; older ones are forgotten (their RTT is simply not measured).
MAX_OUTSTANDING_PINGS: Final = 16
#: Per-path heartbeat period (DESIGN.md: 250 ms, a path is down after 3 misses).
PING_INTERVAL: Final = 0.25

# --- Hash labels -----------------------------------------------------------------------------
# Domain separation for the hashes that name identities. Each is hashed as ``SHA-512(label ||
# input)``; the input layouts are in docs/identity.md. No label is a prefix of another label.
#: The fingerprint of a card: over its name and its three public keys, never its addresses.
LABEL_FINGERPRINT: Final = b"hotline/1 fingerprint"
#: The line id of two paired stations: over both card fingerprints, sorted.
LABEL_LINE_ID: Final = b"hotline/1 line id"

# --- The record: envelopes, chain heads, receipts, NACKs, checkpoints (docs/record-format.md) --
#: The version byte that opens every envelope header; any other is refused (a new version of the
#: record is a new protocol version, and changes the ``hotline/1`` labels too).
RECORD_VERSION: Final = 1
#: Signature label of a NACK, the signed refusal of an item (the other record labels are above).
#: Acknowledgements need none: they are envelopes of kind ACK, covered by the chain-head
#: signature like any message.
LABEL_NACK: Final = b"hotline/1 nack"
#: Hash labels of the record, each hashed as ``SHA-512(label || encoding)``.
LABEL_ENVELOPE: Final = b"hotline/1 envelope"
LABEL_BODY: Final = b"hotline/1 body"
LABEL_RECORD: Final = b"hotline/1 record"
#: Every record hash is a full SHA-512 digest: CNSA 2.0's hash, and 256-bit collision resistance
#: against a quantum adversary's Grover/BHT speed-up.
RECORD_HASH_LEN: Final = 64
#: Every body opens with this many random bytes, so a body redacted to its hash cannot be guessed
#: back by hashing candidate texts ("yes", "received") — 256 bits, beyond any dictionary.
BODY_SALT_LEN: Final = 32
#: Text of one message or test: 60 KiB, so an envelope (296-byte header, salt, lengths) stays
#: below one session frame (65,517 bytes) with room to spare. Longer texts and files will travel
#: as chunked attachments (a later issue), never as one giant envelope.
MAX_TEXT_LEN: Final = 60 * 1024
#: Attachments one message may reference; version 1 carries none (the count must be 0).
MAX_ATTACHMENTS: Final = 0
#: Operator name in an acknowledgement: a name or a call sign, not a biography.
MAX_OPERATOR_NAME_LEN: Final = 64
#: Free note in an acknowledgement ("passed to the minister"), UTF-8 bytes.
MAX_ACK_NOTE_LEN: Final = 1024
#: Reason text in a NACK: one line for both operators' alarms, UTF-8 bytes.
MAX_NACK_TEXT_LEN: Final = 256
#: Text of a signed public statement: a communiqué, not a book.
MAX_STATEMENT_TEXT_LEN: Final = 16 * 1024
#: Envelopes a receiver holds past the last chain head before refusing (NACK UNCOVERED): they
#: wait in memory for their signature, so this bounds memory (256 x 61 KiB ~ 15 MiB), and it
#: bounds the sender's sequencing batch, which one head signature always covers.
MAX_UNCOVERED_ENVELOPES: Final = 256
#: Envelopes a sender may have sequenced but not receipted (the in-flight window,
#: docs/protocol.md §4.4): a FLASH waits behind at most this many.
IN_FLIGHT_WINDOW: Final = 1024
#: Envelopes one sequencing commit takes at most: a quarter of the window, so several commits
#: are in flight at once and the receiver stores one while the sender sequences the next. A
#: commit of the whole window made the two stations take turns, each idle half the time.
MAX_SEQUENCE_BATCH: Final = IN_FLIGHT_WINDOW // 4
#: Covered envelopes a receiver holds uncommitted before it closes the session: twice the window,
#: so only a peer that ignores the window reaches it (docs/protocol.md §4.5).
MAX_UNCOMMITTED_ENVELOPES: Final = 2 * IN_FLIGHT_WINDOW
#: Signed heads a receiver holds ahead of the envelopes they name (a head stated at session
#: start, then one per batch in flight); more is a peer that signs without sending.
MAX_HEADS_AHEAD: Final = 16
#: While traffic flows, the stations co-sign a checkpoint at least this often (seconds).
CHECKPOINT_INTERVAL: Final = 10.0
#: An operator's checkpoint (``hotline checkpoint``) waits this long for the peer to co-sign;
#: a peer that declines answers nothing (docs/protocol.md §4.10), so the wait is bounded.
CHECKPOINT_WAIT: Final = 10.0
#: Checkpoints a proposer sends again per step, of those the peer's SYNC says it lacks
#: (docs/protocol.md §4.10): one step at session start (~150 KiB before the session's
#: messages), then one per checkpoint interval in place of a proposal while more wait.
CHECKPOINT_RESEND_STEP: Final = 16
#: Checkpoints a co-signer keeps waiting for their counter-signature: a later proposal that
#: overtakes one being counter-signed does not void it.
MAX_AWAITING_COUNTERSIGN: Final = 4
#: Two station clocks further apart than this (plus the measured RTT) do not co-sign a
#: checkpoint and raise the clock alarm: NTP keeps honest clocks within tens of ms, so one
#: second is a fault, not jitter.
CLOCK_SKEW_BOUND_MS: Final = 1_000
