"""A station's identity: keys, cards, fingerprints, pins, and keys at rest.

The formats are specified in docs/identity.md. Nothing here knows the layout of a station's
home (that is :mod:`hotline.station`); everything takes and returns bytes, except
:func:`obtain_passphrase`, which reads the sources an operator can give a passphrase by.
"""

from ._card import Card as Card
from ._card import line_id as line_id
from ._constants import CARD_VERSION as CARD_VERSION
from ._constants import LABEL_PEERS_MAC as LABEL_PEERS_MAC
from ._constants import MAX_ADDRESSES as MAX_ADDRESSES
from ._constants import MAX_PEERS_FILE_LEN as MAX_PEERS_FILE_LEN
from ._errors import CardError as CardError
from ._errors import CardFormatError as CardFormatError
from ._errors import CardPostQuantumError as CardPostQuantumError
from ._errors import CardSignatureError as CardSignatureError
from ._errors import CardVersionError as CardVersionError
from ._errors import FingerprintMalformedError as FingerprintMalformedError
from ._errors import FingerprintMismatchError as FingerprintMismatchError
from ._errors import IdentityError as IdentityError
from ._errors import KeyFileCorruptError as KeyFileCorruptError
from ._errors import PassphraseUnavailableError as PassphraseUnavailableError
from ._errors import PeerConflictError as PeerConflictError
from ._errors import PeersFileError as PeersFileError
from ._errors import PeerUnknownError as PeerUnknownError
from ._errors import WrongPassphraseError as WrongPassphraseError
from ._fingerprint import Fingerprint as Fingerprint
from ._fingerprint import format_fingerprint as format_fingerprint
from ._fingerprint import parse_fingerprint as parse_fingerprint
from ._keyfile import KDF_PROFILES as KDF_PROFILES
from ._keyfile import KdfParams as KdfParams
from ._keyfile import UnlockedKeys as UnlockedKeys
from ._keyfile import normalise_passphrase as normalise_passphrase
from ._keyfile import open_key_file as open_key_file
from ._keyfile import seal_key_file as seal_key_file
from ._keys import PublicKeys as PublicKeys
from ._keys import StationKeys as StationKeys
from ._names import check_address as check_address
from ._names import check_station_name as check_station_name
from ._passphrase import PASSPHRASE_ENV as PASSPHRASE_ENV
from ._passphrase import obtain_passphrase as obtain_passphrase
from ._peers import PairOutcome as PairOutcome
from ._peers import PairResult as PairResult
from ._peers import Peer as Peer
from ._peers import PeerRegistry as PeerRegistry
