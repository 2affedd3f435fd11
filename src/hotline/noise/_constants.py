"""The fixed limits of the Noise framework (revision 34), each with the reason beside it."""

from __future__ import annotations

from typing import Final

#: Spec §3: every Noise message, handshake or transport, is at most 65535 bytes, so that it fits
#: a 2-byte length prefix. Enforced on write (LocalProtocolError) and on read (RemoteProtocolError).
MAX_MESSAGE_LEN: Final = 65535

#: Spec §5.1: the AEAD authentication tag is 16 bytes for both ChaChaPoly and AESGCM.
TAG_LEN: Final = 16

#: Spec §4.2: the cipher key is 32 bytes; a 64-byte hash output is truncated to this.
KEY_LEN: Final = 32

#: Spec §5.1: nonce 2**64-1 is reserved (it is the REKEY nonce, §4.2), so a CipherState whose
#: next nonce reaches it refuses to encrypt or decrypt again.
MAX_NONCE: Final = 2**64 - 1

#: Spec §9: a PSK is exactly 32 bytes.
PSK_LEN: Final = 32
