"""What a signed-in person may see: RBR members and secretaries their region (its
overview and every LBR of it), LBR members and secretaries their own council."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Council, Membership, Person


@dataclass(frozen=True)
class Access:
    person: Person
    #: RBR ids whose overview (and every LBR of which) the person may see.
    regions: frozenset[int] = field(default_factory=frozenset)
    #: LBR (or other) council ids the person sits on.
    councils: frozenset[int] = field(default_factory=frozenset)
    #: (key, name, kind) of every council the person sits on, for the start page.
    seats: tuple[tuple[str, str, str], ...] = ()

    def may_see_region(self, rbr: Council) -> bool:
        return rbr.id in self.regions

    def may_see_council(self, council: Council) -> bool:
        return council.id in self.councils or (
            council.region_id is not None and council.region_id in self.regions
        )


async def access_of(session: AsyncSession, person_id: int) -> Access | None:
    """The person's access, or None when the person is unknown."""
    person = await session.get(Person, person_id)
    if person is None:
        return None
    rows = (
        await session.execute(
            select(Council.id, Council.key, Council.name, Council.kind)
            .join(Membership, col(Membership.council_id) == Council.id)
            .where(Membership.person_id == person_id, col(Council.active))
            .order_by(col(Council.name))
        )
    ).all()
    regions = frozenset(cid for cid, _k, _n, kind in rows if kind == "RBR")
    councils = frozenset(cid for cid, _k, _n, kind in rows if kind != "RBR")
    seats = tuple((key, name, kind) for _c, key, name, kind in rows)
    return Access(person, regions, councils, seats)
