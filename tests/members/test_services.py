"""Membership services: sign-up, status transitions, profile and erasure."""

import pytest

from ruilkring.audit.models import AuditEvent
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.members import services
from ruilkring.members.models import MemberRole, MemberStatus
from ruilkring.notifications.models import Notification
from tests import factories


def signup(ring, **overrides):
    values = dict(
        ring=ring, user=None, name="Wim de Vries", email="Wim@Example.test",
        password="een lang wachtwoord", neighbourhood_id=ring.neighbourhoods[0].id,
        birth_year=1950, share_email=True, share_phone=False, share_address=False,
        accepted_house_rules=True,
    )
    values.update(overrides)
    return services.member_signup(**values)


def test_signup_creates_pending_member_and_notifies_coordinators(ring, coordinator):
    member = signup(ring)
    assert member.status == MemberStatus.PENDING
    assert member.user.email == "wim@example.test"
    assert member.house_rules_accepted_version == ring.house_rules_version
    notes = db.session.scalars(db.select(Notification)).all()
    assert [n.user_id for n in notes] == [coordinator.user_id]
    assert "Wim de Vries" in notes[0].text


def test_signup_refuses_duplicate_email_in_ring(ring):
    signup(ring)
    with pytest.raises(DomainError) as error:
        signup(ring, email="wim@example.TEST")
    assert error.value.field == "email"
    assert "al aangemeld" in str(error.value)


def test_signup_with_known_email_elsewhere_asks_to_log_in(ring):
    other = factories.RingFactory()
    signup(other)
    with pytest.raises(DomainError) as error:
        signup(ring)
    assert "Log eerst in" in str(error.value)


def test_signed_in_user_joins_second_ring(ring):
    existing = factories.MemberFactory()
    member = signup(ring, user=existing.user, name="", email="", password="")
    assert member.user_id == existing.user_id
    assert member.status == MemberStatus.PENDING


def test_signup_refuses_wijk_of_another_ring(ring):
    other = factories.RingFactory()
    with pytest.raises(DomainError) as error:
        signup(ring, neighbourhood_id=other.neighbourhoods[0].id)
    assert error.value.field == "neighbourhood_id"


def test_signup_refuses_short_password(ring):
    with pytest.raises(DomainError) as error:
        signup(ring, password="kort")
    assert error.value.field == "password"


def test_signup_requires_house_rules(ring):
    with pytest.raises(DomainError) as error:
        signup(ring, accepted_house_rules=False)
    assert error.value.field == "accept_rules"


@pytest.mark.parametrize("year", [1800, 2030])
def test_signup_refuses_impossible_birth_year(ring, year):
    with pytest.raises(DomainError) as error:
        signup(ring, birth_year=year)
    assert error.value.field == "birth_year"


def test_approve_activates_mails_and_audits(ring, coordinator, outbox):
    member = signup(ring)
    services.member_approve(member=member, approved_by=coordinator.user)
    db.session.commit()
    assert member.status == MemberStatus.ACTIVE
    assert member.approved_by_id == coordinator.user_id
    [mail] = outbox()
    assert mail["To"] == "wim@example.test"
    assert ring.name in mail["Subject"]
    event = db.session.scalars(db.select(AuditEvent)).one()
    assert (event.action, event.old, event.new) == ("member.approve", {"status": "pending"}, {"status": "active"})


def test_mail_is_not_sent_when_the_transaction_rolls_back(ring, coordinator, outbox):
    member = signup(ring)
    db.session.commit()
    services.member_approve(member=member, approved_by=coordinator.user)
    db.session.rollback()
    db.session.commit()
    assert outbox() == []


def test_decline_mails_reason(ring, coordinator, outbox):
    member = signup(ring)
    services.member_decline(member=member, declined_by=coordinator.user, reason="Woont buiten de wijken")
    db.session.commit()
    assert member.status == MemberStatus.DECLINED
    assert "Woont buiten de wijken" in outbox()[0].get_content()


@pytest.mark.parametrize(
    ("start", "service", "actor"),
    [
        (MemberStatus.ACTIVE, services.member_approve, "approved_by"),
        (MemberStatus.DECLINED, services.member_reactivate, "reactivated_by"),
        (MemberStatus.PENDING, services.member_mark_leaving, "marked_by"),
        (MemberStatus.ACTIVE, services.member_mark_left, "marked_by"),
        (MemberStatus.LEFT, services.member_reactivate, "reactivated_by"),
    ],
)
def test_illegal_transitions_are_refused(ring, coordinator, start, service, actor):
    member = factories.MemberFactory(ring=ring, status=start)
    with pytest.raises(DomainError):
        service(member=member, **{actor: coordinator.user})
    assert member.status == start


def test_lifecycle_active_inactive_leaving_left(ring, coordinator):
    member = factories.MemberFactory(ring=ring)
    actor = coordinator.user
    services.member_deactivate(member=member, deactivated_by=actor, reason="lang weg")
    assert member.status == MemberStatus.INACTIVE
    services.member_reactivate(member=member, reactivated_by=actor)
    services.member_mark_leaving(member=member, marked_by=actor)
    assert member.status == MemberStatus.LEAVING
    services.member_mark_left(member=member, marked_by=actor)
    assert member.status == MemberStatus.LEFT
    actions = db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["member.deactivate", "member.reactivate", "member.mark_leaving", "member.mark_left"]


def test_erase_replaces_personal_data_everywhere_and_keeps_rows(ring, coordinator):
    member = factories.MemberFactory(ring=ring, bio="Ik heet Piet", birth_year=1960, share_email=True)
    second = factories.MemberFactory(user=member.user, role=MemberRole.COORDINATOR)
    user = member.user
    services.member_erase(member=member, erased_by=coordinator.user, reason="verzoek van het lid")
    db.session.commit()
    assert user.name == f"Oud-lid {user.id}"
    assert user.email == f"gewist-{user.id}@invalid"
    assert (user.phone, user.address, user.password_hash) == ("", "", None)
    assert not user.is_active
    for membership in (member, second):
        assert membership.status == MemberStatus.LEFT
        assert (membership.bio, membership.birth_year, membership.share_email) == ("", None, False)
    assert second.role == MemberRole.MEMBER
    with pytest.raises(DomainError):
        services.member_erase(member=member, erased_by=coordinator.user, reason="nog eens")


def test_erase_requires_reason(ring, coordinator, member):
    with pytest.raises(DomainError) as error:
        services.member_erase(member=member, erased_by=coordinator.user, reason="  ")
    assert error.value.field == "reason"
