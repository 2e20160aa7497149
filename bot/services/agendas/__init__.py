"""Meeting agendas (*dagsordener*): assembled from what is due, arranged by the
secretariat, sent to the invitees as text and as a .docx.

:mod:`.items` assembles and reads an agenda, :mod:`.changes` holds the secretariat's
changes (add, move, drop, done), :mod:`.sources` what is due (deviations,
recommendations, hearings, cycle deadlines), :mod:`.rights` who may do what,
:mod:`.sending` the send through the outbox and :mod:`.render` the words and the
document.
"""
