"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from app.audit.models import AuditCheckpoint, AuditEvent, AuditHead, AuditReview  # noqa: F401
from app.auth.models import AuthSession, Passkey, RecoveryCode, User  # noqa: F401
from app.cards.models import Card, RevocationCounter  # noqa: F401
from app.devices.models import Device  # noqa: F401
from app.directory.models import Institution, Practitioner  # noqa: F401
from app.history.models import Change  # noqa: F401
from app.households.models import Household  # noqa: F401
from app.imports.models import ImportJob  # noqa: F401
from app.network.models import NetworkClient  # noqa: F401
from app.persons.models import ClinicalEntry, Consent, EmergencyContact, Person  # noqa: F401
from app.residents.models import CodeAttempt, ResidentAccessCode  # noqa: F401
from app.scans.models import OfflineAccess, Transport  # noqa: F401
