"""Who acts, and from where: the value every service and the audit log are given.

The domain never reads the request. A front end builds an `Actor` once per request at
its boundary (`practice/login.py`: the signed-in user, the client address, and whether a
session cookie or an API token carried the credentials); a `flask …` command builds
`Actor.cli(...)`. Services that decide by who acts take the actor as an argument; the
audit log records its user, practice and address.

The boundary also binds the actor to the unit of work (`bind(db.session, actor)`), so
an audit entry recorded without an explicit actor (a refusal raised deep in a loader)
still names who acted and from where.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, scoped_session

if TYPE_CHECKING:
    from practice.auth.models import User, UserSession

ACTOR_KEY = "actor"
VIA = ("session", "token", "anonymous", "cli")


@dataclass(frozen=True)
class Actor:
    """`user`: who acts (None before sign-in, or for an operator's command); `address`:
    the client's network address (None on the command line); `via`: how the credentials
    came: "session" (cookie), "token" (bearer), "anonymous", "cli"; `user_session`: the
    session record a cookie named (so "end my other sessions" can keep this one)."""

    user: User | None
    address: str | None = None
    via: str = "anonymous"
    user_session: UserSession | None = None

    def __post_init__(self):
        if self.via not in VIA:
            raise ValueError(f"unknown actor channel {self.via!r}")

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.user.id if self.user is not None else None

    @property
    def practice_id(self) -> uuid.UUID | None:
        return self.user.practice_id if self.user is not None else None

    def with_user(
        self, user: User | None, via: str, user_session: UserSession | None = None
    ) -> Actor:
        """The same origin, now identified as `user`."""
        return Actor(user=user, address=self.address, via=via, user_session=user_session)

    @classmethod
    def cli(cls, user: User | None = None) -> Actor:
        """An operator's `flask …` command, acting as `user` when it names one."""
        return cls(user=user, address=None, via="cli")


def _plain(session: Session | scoped_session) -> Session:
    return session() if isinstance(session, scoped_session) else session


def bind(session: Session | scoped_session, actor: Actor | None) -> None:
    """Make `actor` the one this unit of work acts for (None: forget it)."""
    info = _plain(session).info
    if actor is None:
        info.pop(ACTOR_KEY, None)
    else:
        info[ACTOR_KEY] = actor


def bound(session: Session | scoped_session) -> Actor | None:
    """The actor the boundary bound to this unit of work, if any."""
    return _plain(session).info.get(ACTOR_KEY)


NOBODY = Actor(user=None, address=None, via="anonymous")


def acting(session: Session | scoped_session) -> Actor:
    """The bound actor, or nobody from nowhere (a test or a command that bound none)."""
    return bound(session) or NOBODY
