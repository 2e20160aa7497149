"""The documents a secretariat files: Word files in one house style.

:mod:`bot.documents.style` holds the style (fonts, headings, the council's
letterhead, the date line, page numbers); each kind of document has a small
module that lays its content out with it: :mod:`bot.documents.hearing` (the
council's compiled hearing answer) and :mod:`bot.documents.agenda` (a meeting's
agenda). python-docx is imported only when a document is built, so the command
line starts without it.
"""

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
