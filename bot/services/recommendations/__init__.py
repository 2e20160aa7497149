"""Recommendations (*indstillinger*) from one council to another or to an outside body.

The use cases, split by what they do: :mod:`.common` (the actor's rights, lookups,
the checks and states), :mod:`.drafting` (create), :mod:`.agreeing` (agree at a
meeting or by a vote in Slack), :mod:`.sending` (send, answer, the reminders and the
escalation) and :mod:`.queries` (list, show, and what a meeting's agenda holds).
"""

from bot.services.recommendations.queries import AgendaRecommendation, recommendations_for_agenda

__all__ = ["AgendaRecommendation", "recommendations_for_agenda"]
