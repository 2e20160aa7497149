"""The council's year as a wheel: :mod:`.draw` draws (pure), :mod:`.year` loads a year."""
