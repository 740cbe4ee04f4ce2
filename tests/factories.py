"""factory_boy factories that flush on create, as in warehouse's test suite."""

import factory
from werkzeug.security import generate_password_hash

from ruilkring.auth.models import User
from ruilkring.extensions import db
from ruilkring.ledger.services import account_open
from ruilkring.members.models import Member, MemberRole, MemberStatus
from ruilkring.rings.models import Municipality, Neighbourhood, Ring

PASSWORD = "correct horse battery"
_PASSWORD_HASH = generate_password_hash(PASSWORD)  # once: hashing is slow on purpose


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session
        sqlalchemy_session_persistence = "flush"


class MunicipalityFactory(BaseFactory):
    class Meta:
        model = Municipality

    name = factory.Sequence(lambda n: f"Gemeente {n}")


class NeighbourhoodFactory(BaseFactory):
    class Meta:
        model = Neighbourhood

    municipality = factory.SubFactory(MunicipalityFactory)
    name = factory.Sequence(lambda n: f"Wijk {n}")


class RingFactory(BaseFactory):
    class Meta:
        model = Ring

    name = factory.Sequence(lambda n: f"Ruilkring {n}")
    slug = factory.Sequence(lambda n: f"ruilkring-{n}")
    municipality = factory.SubFactory(MunicipalityFactory)
    house_rules = "Eén uur is één uur."

    @factory.post_generation
    def neighbourhoods(self, create, extracted, **kwargs):
        names = extracted if extracted is not None else ["Noord", "Zuid"]
        self.neighbourhoods = [
            NeighbourhoodFactory(municipality=self.municipality, name=name) for name in names
        ]
        db.session.flush()


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    name = factory.Faker("name", locale="nl_NL")
    password_hash = _PASSWORD_HASH
    phone = "030-1234567"
    address = "Dorpsstraat 1"


class MemberFactory(BaseFactory):
    class Meta:
        model = Member

    ring = factory.SubFactory(RingFactory)
    user = factory.SubFactory(UserFactory)
    role = MemberRole.MEMBER
    status = MemberStatus.ACTIVE
    neighbourhood = factory.LazyAttribute(lambda m: m.ring.neighbourhoods[0] if m.ring.neighbourhoods else None)
    house_rules_accepted_version = 1

    @factory.post_generation
    def account(self, create, extracted, **kwargs):
        """Members who were admitted have an account, as ``member_approve`` gives them."""
        if self.status not in (MemberStatus.PENDING, MemberStatus.DECLINED):
            account_open(member=self)
