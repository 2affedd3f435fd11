"""Offline verification of what a station hands to a third party: record exports, statements.

Step 1 of docs/record-format.md §14 needs the cards (the identity layer); the rest is
:func:`hotline.record.check_record`, which needs only their keys. This package joins the two,
so ``hotline verify`` runs with nothing but the file: no station, no store, no clock.
"""

from ._export import ExportReport as ExportReport
from ._export import StationInfo as StationInfo
from ._export import verify_export as verify_export
from ._statement import StatementReport as StatementReport
from ._statement import sign_statement as sign_statement
from ._statement import verify_statement as verify_statement
