"""The region's overview (issue 15): one row per LBR, one column per milestone of the year.

:mod:`.cells` is the pure part (which state a milestone is in, given what is stored and
today's date); :mod:`.load` reads a region in a fixed number of bounded queries;
:mod:`.export` turns it into text, CSV and JSON; :mod:`.share` keeps the wall-display
link's token.
"""
