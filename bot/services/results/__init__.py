"""Results watch (issue 14): Jobindsats.dk figures per jobcentre, the deviations from
comparable jobcentres beyond the thresholds the RBR agreed, and their alerts.

Modules: :mod:`.periods` (period forms), :mod:`.importing` (CSV/XLSX import),
:mod:`.check` (the deviations, pure), :mod:`.alerts` (found and ended deviations to the
outbox), :mod:`.chart` (the PNG), :mod:`.queries` (what other capabilities read).
"""

from bot.services.results.queries import Deviation, open_deviations

__all__ = ["Deviation", "open_deviations"]
