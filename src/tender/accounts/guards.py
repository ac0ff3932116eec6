"""Who may call which route: the one place role rules live.

Every route handler carries exactly one rule: ``guards=allow(Role.X, ..., to="do what")`` for
signed-in callers with one of those roles (``second_factor=True``: and only with a second
factor, for what is risky), or ``opt=PUBLIC`` for a route anyone may call signed in or not (it
then skips authentication). :func:`routes_without_a_rule` finds a route
that has neither; the app refuses to start with one, so a new route cannot forget its rule.
What depends on the objects (whose receipt, which tender) is checked by the services.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.routes import HTTPRoute
from litestar.types import Guard

from tender.accounts.models import Role, User
from tender.errors import Forbidden
from tender.i18n import gettext as _

PUBLIC_KEY: Final = "public"
PUBLIC: Final = {PUBLIC_KEY: True}
"""``opt`` of a route that anyone may call without signing in."""

EVERY_ROLE: Final = tuple(Role)
"""For ``allow(*EVERY_ROLE, ...)``: any signed-in caller."""


class RoleGuard:
    """A Litestar guard: only signed-in callers with one of ``roles`` pass.

    Anyone else is refused with 403 (a :class:`~tender.errors.Forbidden`, so it is explained
    and audited like every refusal).
    """

    def __init__(self, roles: Iterable[Role], action: str, *, second_factor: bool) -> None:
        self.roles = frozenset(roles)
        if not self.roles:
            raise ValueError("a role guard needs at least one role")
        self.action = action
        self.second_factor = second_factor

    def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
    ) -> None:
        user: User = connection.user  # set by the authentication middleware
        if user.role in self.roles:
            if self.second_factor and not connection.auth.second_factor:
                raise Forbidden(
                    _("You cannot {action} without a second factor.").format(action=_(self.action)),
                    _(
                        "This changes what suppliers rely on, so the platform asks for proof "
                        "beyond a password or an ordinary token: a code from your authenticator "
                        "app (TOTP)."
                    ),
                    _(
                        "Sign in with your code, or make an API token with one (POST "
                        "/api/account/tokens with 'code'), and try again."
                    ),
                    tender_id=connection.path_params.get("tender_id"),
                )
            return
        allowed = " or ".join(repr(role.value) for role in sorted(self.roles))
        tender_id = connection.path_params.get("tender_id")
        raise Forbidden(
            _("You cannot {action}.").format(action=_(self.action)),
            _(
                "Your account ({name}, {organisation}) has the role '{role}', "
                "and this needs {allowed}."
            ).format(
                name=user.name,
                organisation=user.organisation,
                role=user.role.value,
                allowed=allowed,
            ),
            _("Ask the platform administrator for an account with that role."),
            tender_id=tender_id,
        )


def allow(*roles: Role, to: str, second_factor: bool = False) -> list[Guard]:
    """The guards of a route that callers with ``roles`` may use; ``to`` says what it does
    ("publish tenders"), for the refusal others get. With ``second_factor``, only callers who
    proved a second factor (:class:`~tender.accounts.signin.Caller`) pass."""
    return [RoleGuard(roles, to, second_factor=second_factor)]


def rule_of(handler: BaseRouteHandler) -> frozenset[Role] | None:
    """The roles ``handler`` admits: None for a public route; empty if it has no rule."""
    if handler.opt.get(PUBLIC_KEY):
        return None
    # The guards as declared on the handler and its controller (Litestar wraps the resolved
    # ones, which hides what they are).
    declared = (guard for layer in handler.ownership_layers for guard in layer.guards or ())
    return frozenset().union(*(g.roles for g in declared if isinstance(g, RoleGuard)))


def routes_without_a_rule(app: Litestar, *, except_under: str) -> list[str]:
    """Routes of ``app`` that are neither public nor guarded by roles ("GET /path"), leaving
    out those under ``except_under`` (the OpenAPI pages) and Litestar's own OPTIONS
    handlers, which answer CORS preflights with nothing."""
    return [
        f"{method} {route.path}"
        for route in app.routes
        if isinstance(route, HTTPRoute) and not route.path.startswith(except_under)
        for handler in route.route_handlers
        if rule_of(handler) == frozenset()
        for method in sorted(handler.http_methods - {"OPTIONS"})
    ]
