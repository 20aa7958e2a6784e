"""Who may do what. Staff roles are Cognito groups of the stack's user pool; each role is a set of permissions,
and each route needs one permission. This module is the one place both tables live: a new route adds one line
to ROUTES (a route missing from it is refused to everyone), a new role or permission changes ROLES.

- tablet: the counter device signed in all day. Sees arrivals and who is in the store now (a person's name,
  photo and notes only as part of an arrival) and says "I'm on it"; cannot list, search, export or change anyone.
- assistant: what a tablet can, plus register customers (with consent), add photos, correct profiles, find
  people by name or photo and see one person's visit history at a time.
- manager: what an assistant can, plus erase people, export visits, override store hours and change staff roles.

API Gateway's Cognito authorizer has checked the ID token; its claims say who is calling and, in
`cognito:groups`, their groups. A refusal happens before anything else (validation, reads, writes).
"""

import json
from dataclasses import dataclass
from enum import StrEnum

from errors import Forbidden, Unauthorized


class Role(StrEnum):
    TABLET = "tablet"
    ASSISTANT = "assistant"
    MANAGER = "manager"


class Permission(StrEnum):
    SEE_ARRIVALS = "see_arrivals"
    ACKNOWLEDGE_ARRIVALS = "acknowledge_arrivals"
    REGISTER_PEOPLE = "register_people"
    EDIT_PEOPLE = "edit_people"
    FIND_PEOPLE = "find_people"
    SEE_VISIT_HISTORY = "see_visit_history"
    ERASE_PEOPLE = "erase_people"
    EXPORT_VISITS = "export_visits"
    OVERRIDE_STORE_HOURS = "override_store_hours"
    MANAGE_STAFF_ROLES = "manage_staff_roles"
    SEE_OWN_ACCOUNT = "see_own_account"


# Any signed-in account, even one not yet in a group, may ask who it is (GET /me).
EVERY_ACCOUNT = frozenset({Permission.SEE_OWN_ACCOUNT})
_TABLET = EVERY_ACCOUNT | {Permission.SEE_ARRIVALS, Permission.ACKNOWLEDGE_ARRIVALS}
_ASSISTANT = _TABLET | {
    Permission.REGISTER_PEOPLE,
    Permission.EDIT_PEOPLE,
    Permission.FIND_PEOPLE,
    Permission.SEE_VISIT_HISTORY,
}
_MANAGER = _ASSISTANT | {
    Permission.ERASE_PEOPLE,
    Permission.EXPORT_VISITS,
    Permission.OVERRIDE_STORE_HOURS,
    Permission.MANAGE_STAFF_ROLES,
}
ROLES: dict[Role, frozenset[Permission]] = {Role.TABLET: _TABLET, Role.ASSISTANT: _ASSISTANT, Role.MANAGER: _MANAGER}

# "<METHOD> <API Gateway resource>" -> the permission it needs.
ROUTES: dict[str, Permission] = {
    "GET /me": Permission.SEE_OWN_ACCOUNT,
    "POST /people": Permission.REGISTER_PEOPLE,
    "POST /people/{person_id}/photos": Permission.REGISTER_PEOPLE,
    "GET /people": Permission.FIND_PEOPLE,
    "GET /people/{person_id}": Permission.FIND_PEOPLE,
    "PATCH /people/{person_id}": Permission.EDIT_PEOPLE,
    "DELETE /people/{person_id}": Permission.ERASE_PEOPLE,
    "POST /search": Permission.FIND_PEOPLE,
    "GET /visits/now": Permission.SEE_ARRIVALS,
    "POST /visits/acknowledge": Permission.ACKNOWLEDGE_ARRIVALS,
    "GET /people/{person_id}/visits": Permission.SEE_VISIT_HISTORY,
    # Every registered person's visits over a date range is a bulk view of customers, like the CSV.
    "GET /visits": Permission.EXPORT_VISITS,
    "GET /visits/export": Permission.EXPORT_VISITS,
    "GET /people/{person_id}/visits/{first_seen}/video": Permission.SEE_VISIT_HISTORY,
    # Every signed-in role sees the store's state (a tablet shows whether the cameras are watching); only a
    # manager changes it.
    "GET /store": Permission.SEE_ARRIVALS,
    "POST /store/override": Permission.OVERRIDE_STORE_HOURS,
}


@dataclass(frozen=True)
class Staff:
    """The signed-in staff account: `name` (their email) for people, `sub` (Cognito's id) for the records."""

    name: str
    sub: str
    role: Role | None

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLES[self.role] if self.role else EVERY_ACCOUNT

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions


def _groups(claim) -> set[str]:
    """`cognito:groups` as an authorizer may pass it: "a,b" (REST API), "[a b]" (HTTP API), a JSON list."""
    if isinstance(claim, list):
        return {str(group) for group in claim}
    text = str(claim or "").strip()
    if text.startswith("["):
        try:
            return {str(group) for group in json.loads(text)}
        except (ValueError, TypeError):
            text = text.strip("[]")
    return {group for group in text.replace(",", " ").split() if group}


def staff_of(claims: dict | None) -> Staff:
    """Who is calling, from the authorizer's claims; Unauthorized without a staff identity."""
    claims = claims or {}
    name = claims.get("email") or claims.get("cognito:username")
    if not name or not claims.get("sub"):
        raise Unauthorized("no staff identity in the request (sign in through the user pool)")
    groups = _groups(claims.get("cognito:groups"))
    # Groups add up: an account in several groups has the widest role among them.
    role = next((role for role in (Role.MANAGER, Role.ASSISTANT, Role.TABLET) if role in groups), None)
    return Staff(name=name, sub=claims["sub"], role=role)


def route_key(method: str, resource: str) -> str:
    return f"{method.upper()} {resource}"


def authorise(method: str, resource: str, claims: dict | None) -> Staff:
    """The caller, if their role allows this route; Unauthorized or Forbidden otherwise."""
    staff = staff_of(claims)
    permission = ROUTES.get(route_key(method, resource))
    if permission is None or not staff.may(permission):
        role = f"the {staff.role} role" if staff.role else "an account without a role (ask a manager for one)"
        raise Forbidden(f"{route_key(method, resource)} is not open to {role}")
    return staff
