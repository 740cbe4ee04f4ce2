"""The yearly survey: opening it, answering once while it is open, anonymous answers that
cannot be paired with who gave them, results only in aggregate and only from five answers."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from ruilkring import clock
from ruilkring.audit.models import AuditEvent
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.members.models import MemberStatus
from ruilkring.stats import survey as surveys
from ruilkring.stats.models import Survey, SurveyParticipation, SurveyResponse
from tests import factories
from tests.helpers import client_as

TODAY = date(2026, 5, 11)


@pytest.fixture(autouse=True)
def _frozen_clock(app):
    clock.freeze(datetime(2026, 5, 11, 10, tzinfo=UTC))


def open_survey(ring, coordinator, opens_on=TODAY, closes_on=date(2026, 6, 7)) -> Survey:
    return surveys.survey_open(ring=ring, opens_on=opens_on, closes_on=closes_on, opened_by=coordinator.user)


def answer(survey, member, belonging=4, new_people="1-2", help_available="yes") -> None:
    surveys.survey_answer(survey=survey, member=member, belonging=belonging, new_people=new_people,
                          help_available=help_available)


def responses(survey) -> list[tuple]:
    """The response rows in id order (as someone reading the table would see them)."""
    return [tuple(row) for row in db.session.execute(
        select(SurveyResponse.belonging, SurveyResponse.new_people, SurveyResponse.help_available)
        .where(SurveyResponse.survey_id == survey.id).order_by(SurveyResponse.id))]


# Opening

def test_a_coordinator_opens_a_survey_and_it_is_audited(ring, coordinator):
    survey = open_survey(ring, coordinator)
    assert surveys.survey_current(ring=ring) == survey
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "survey.open")).all()
    assert (event.actor_id, event.ring_id) == (coordinator.user.id, ring.id)
    assert event.new == {"survey": survey.id, "opens_on": "2026-05-11", "closes_on": "2026-06-07"}


def test_at_most_one_survey_per_ring_at_a_time(ring, coordinator):
    open_survey(ring, coordinator)
    with pytest.raises(DomainError) as error:
        open_survey(ring, coordinator, opens_on=date(2026, 6, 1), closes_on=date(2026, 6, 30))
    assert error.value.field == "opens_on"
    # After it closes, the next one may follow; another ring is not affected.
    open_survey(ring, coordinator, opens_on=date(2026, 6, 8), closes_on=date(2026, 7, 5))
    other = factories.RingFactory()
    open_survey(other, factories.MemberFactory(ring=other, role="coordinator"))
    assert db.session.scalar(select(db.func.count()).select_from(Survey)) == 3


@pytest.mark.parametrize(("opens_on", "closes_on", "field"), [
    (date(2026, 6, 1), date(2026, 5, 31), "closes_on"),  # ends before it starts
    (date(2026, 4, 1), date(2026, 5, 10), "closes_on"),  # entirely in the past
    (date(2026, 5, 11), date(2027, 6, 1), "closes_on"),  # more than a year
])
def test_a_survey_period_must_make_sense(ring, coordinator, opens_on, closes_on, field):
    with pytest.raises(DomainError) as error:
        open_survey(ring, coordinator, opens_on, closes_on)
    assert error.value.field == field


def test_only_coordinators_of_the_ring_and_admins_open_a_survey(ring, member, admin):
    with pytest.raises(DomainError):
        open_survey(ring, member)
    other_ring_coordinator = factories.MemberFactory(role="coordinator")
    with pytest.raises(DomainError):
        open_survey(ring, other_ring_coordinator)
    assert surveys.survey_open(ring=ring, opens_on=TODAY, closes_on=TODAY, opened_by=admin).ring_id == ring.id


# Answering

def test_a_member_answers_once_and_the_response_carries_no_member(ring, coordinator, member):
    survey = open_survey(ring, coordinator)
    assert surveys.survey_waiting_for(member=member) == survey
    answer(survey, member, belonging=2, new_people="3-5", help_available="unknown")
    assert surveys.survey_waiting_for(member=member) is None
    assert responses(survey) == [(2, "3-5", "unknown")]
    assert [p.member_id for p in db.session.scalars(select(SurveyParticipation))] == [member.id]
    assert not {"member_id", "created_at"} & set(SurveyResponse.__table__.columns.keys())
    with pytest.raises(DomainError):
        answer(survey, member, belonging=5)
    assert responses(survey) == [(2, "3-5", "unknown")]


def test_answers_only_while_the_survey_is_open(ring, coordinator, member):
    survey = open_survey(ring, coordinator, opens_on=date(2026, 5, 20), closes_on=date(2026, 5, 31))
    with pytest.raises(DomainError):
        answer(survey, member)  # not open yet
    assert surveys.survey_waiting_for(member=member) is None
    clock.freeze(datetime(2026, 5, 31, 21, tzinfo=UTC))
    answer(survey, member)  # the last day counts
    clock.freeze(datetime(2026, 6, 1, 8, tzinfo=UTC))
    with pytest.raises(DomainError):
        answer(survey, factories.MemberFactory(ring=ring))  # closed


def test_only_members_with_access_of_the_ring_answer(ring, coordinator):
    survey = open_survey(ring, coordinator)
    for outsider in (factories.MemberFactory(), factories.MemberFactory(ring=ring, status=MemberStatus.PENDING),
                     factories.MemberFactory(ring=ring, status=MemberStatus.LEFT)):
        with pytest.raises(DomainError):
            answer(survey, outsider)
    assert responses(survey) == []


@pytest.mark.parametrize("answers", [dict(belonging=0), dict(belonging=6), dict(new_people="7"),
                                     dict(help_available="maybe")])
def test_answers_outside_the_choices_are_refused(ring, coordinator, member, answers):
    survey = open_survey(ring, coordinator)
    with pytest.raises(DomainError):
        answer(survey, member, **answers)
    assert db.session.scalar(select(db.func.count()).select_from(SurveyParticipation)) == 0


def test_response_rows_do_not_follow_the_order_of_participation(ring, coordinator, monkeypatch):
    """Each new answer swaps places with the one in a uniformly chosen row (the inside-out
    shuffle). Scripted here to always pick the first row: answers a, b, c, d end up in
    the rows as d, a, b, c, while the participations are in the order a, b, c, d."""
    survey = open_survey(ring, coordinator)
    members = [factories.MemberFactory(ring=ring) for _ in range(4)]
    given = [(1, "0", "no"), (2, "1-2", "yes"), (3, "3-5", "unknown"), (4, "6+", "yes")]
    picks = []

    def first_row(n):
        picks.append(n)
        return 0

    monkeypatch.setattr(surveys.secrets, "randbelow", first_row)
    for member, (belonging, new_people, help_available) in zip(members, given, strict=True):
        answer(survey, member, belonging, new_people, help_available)
    assert picks == [1, 2, 3, 4]  # every row, the new one included, can be chosen
    assert responses(survey) == [given[3], given[0], given[1], given[2]]
    participations = db.session.scalars(select(SurveyParticipation.member_id).order_by(SurveyParticipation.id))
    assert list(participations) == [m.id for m in members]


def test_shuffling_keeps_every_answer(ring, coordinator):
    survey = open_survey(ring, coordinator)
    given = [(b, n, h) for b, n, h in zip((1, 2, 3, 4, 5, 5, 4, 3), ("0", "1-2", "3-5", "6+") * 2,
                                           ("yes", "no", "unknown", "yes") * 2, strict=True)]
    for belonging, new_people, help_available in given:
        answer(survey, factories.MemberFactory(ring=ring), belonging, new_people, help_available)
    assert sorted(responses(survey)) == sorted(given)


# Results

def test_results_only_from_five_answers_and_only_counted(ring, coordinator):
    survey = open_survey(ring, coordinator)
    for belonging in (5, 4, 4, 2):
        answer(survey, factories.MemberFactory(ring=ring), belonging=belonging)
    assert surveys.survey_results(survey=survey) is None
    answer(survey, factories.MemberFactory(ring=ring), belonging=1, new_people="6+", help_available="no")
    results = surveys.survey_results(survey=survey)
    assert results.responses == 5
    assert results.belonging == {1: 1, 2: 1, 3: 0, 4: 2, 5: 1}
    assert results.belonging_mean == pytest.approx(16 / 5)
    assert results.new_people == {"0": 0, "1-2": 4, "3-5": 0, "6+": 1}
    assert results.help_available == {"yes": 4, "no": 1, "unknown": 0}


# Pages

def test_coordinator_opens_the_survey_from_its_page(app, ring, coordinator):
    db.session.commit()
    client = client_as(app, coordinator.user)
    page = client.get(f"/kring/{ring.slug}/beheer/enquete").get_data(as_text=True)
    assert 'value="2026-05-11"' in page and 'value="2026-06-08"' in page and "Nog geen enquêtes." in page
    response = client.post(f"/kring/{ring.slug}/beheer/enquete",
                           data={"opens_on": "2026-05-11", "closes_on": "2026-05-31"})
    assert response.status_code == 302
    page = client.get(f"/kring/{ring.slug}/beheer/enquete").get_data(as_text=True)
    assert "staat open" in page and "0 leden deden mee." in page
    assert "De uitslag verschijnt als minstens 5 leden hebben meegedaan." in page
    # An overlapping period is refused next to its field.
    response = client.post(f"/kring/{ring.slug}/beheer/enquete",
                           data={"opens_on": "2026-05-20", "closes_on": "2026-06-30"})
    assert response.status_code == 200 and 'id="opens_on-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count()).select_from(Survey)) == 1
    assert f'href="/kring/{ring.slug}/beheer/enquete"' in client.get(f"/kring/{ring.slug}/beheer").get_data(
        as_text=True)


def test_members_cannot_open_the_page_of_coordinators(app, ring, member):
    db.session.commit()
    client = client_as(app, member.user)
    assert client.get(f"/kring/{ring.slug}/beheer/enquete").status_code == 404
    assert client.post(f"/kring/{ring.slug}/beheer/enquete",
                       data={"opens_on": "2026-05-11", "closes_on": "2026-05-31"}).status_code == 404
    assert db.session.scalar(select(db.func.count()).select_from(Survey)) == 0


def test_member_is_invited_answers_and_is_thanked(app, ring, coordinator, member):
    client = client_as(app, member.user)
    db.session.commit()
    home = client.get(f"/kring/{ring.slug}/start").get_data(as_text=True)
    assert "enquête" not in home
    assert "Er is op dit moment geen enquête." in client.get(f"/kring/{ring.slug}/enquete").get_data(as_text=True)

    open_survey(ring, coordinator)
    db.session.commit()
    home = client.get(f"/kring/{ring.slug}/start").get_data(as_text=True)
    assert "Doet u mee met de enquête van de kring?" in home and f'href="/kring/{ring.slug}/enquete"' in home
    page = client.get(f"/kring/{ring.slug}/enquete").get_data(as_text=True)
    assert "<legend>1. Hoe sterk voelt u zich verbonden met de mensen in uw buurt?</legend>" in page
    assert page.count('type="radio"') == 5 + 4 + 3

    response = client.post(f"/kring/{ring.slug}/enquete", data={"belonging": "4", "new_people": "6+"})
    assert response.status_code == 200
    assert '<p class="error" id="help_available-error">Kies een van de antwoorden.</p>' in response.get_data(
        as_text=True)
    assert db.session.scalar(select(db.func.count()).select_from(SurveyParticipation)) == 0

    response = client.post(f"/kring/{ring.slug}/enquete",
                           data={"belonging": "4", "new_people": "6+", "help_available": "no"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/kring/{ring.slug}/start")
    home = client.get(f"/kring/{ring.slug}/start").get_data(as_text=True)
    assert "Dank u wel voor het invullen van de enquête." in home
    assert "Doet u mee met de enquête van de kring?" not in home
    assert "U heeft de enquête al ingevuld." in client.get(f"/kring/{ring.slug}/enquete").get_data(as_text=True)
    # A second submission changes nothing.
    client.post(f"/kring/{ring.slug}/enquete", data={"belonging": "1", "new_people": "0", "help_available": "yes"})
    assert responses(db.session.scalars(select(Survey)).one()) == [(4, "6+", "no")]


def test_results_appear_on_the_coordinators_page_from_five_answers(app, ring, coordinator):
    survey = open_survey(ring, coordinator)
    for belonging in (5, 4, 4, 2):
        answer(survey, factories.MemberFactory(ring=ring), belonging=belonging)
    db.session.commit()
    client = client_as(app, coordinator.user)
    page = client.get(f"/kring/{ring.slug}/beheer/enquete").get_data(as_text=True)
    assert "4 leden deden mee." in page and "<table>" not in page
    answer(survey, factories.MemberFactory(ring=ring), belonging=1, new_people="6+", help_available="no")
    db.session.commit()
    page = client.get(f"/kring/{ring.slug}/beheer/enquete").get_data(as_text=True)
    assert "5 leden deden mee." in page
    assert "(gemiddeld 3,2)" in page
    assert '<th scope="row">Weet ik niet</th><td class="num">0</td><td class="num">0%</td>' in page
    assert '<th scope="row">1 of 2 mensen</th><td class="num">4</td><td class="num">80%</td>' in page
