"""The web UI of accounts: sign-in (password, then the second step), the account page, the admins' user list."""

from app.auth.views import account, admin, login, second_step
from app.core.routing import combine

router = combine(login.router, second_step.router, account.router, admin.router)
