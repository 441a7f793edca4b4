"""How audit events read on screen: action names for staff and doctors, plain sentences for residents.

Residents see the organisation and the kind of person (救急隊員, 医師, 市職員), never the
personal name of the crew member or clerk (docs/decisions.md, "Audit (issue 6)").
"""

from __future__ import annotations

from app.audit.models import AuditEvent
from app.core.i18n import gettext as _
from app.core.labels import label

ACTIONS = {
    "person.view": "登録情報の閲覧",
    "person.history": "変更履歴の閲覧",
    "person.search": "登録者の検索",
    "household.view": "世帯情報の閲覧",
    "scan.view": "救急隊による救急情報の閲覧",
    "scan.offline": "救急隊による閲覧（通信圏外）",
    "scan.verify": "カードの確認（情報の表示なし）",
    "scan.destination": "搬送先病院の記録",
    "auth.login": "ログイン",
    "auth.login_failed": "ログインの失敗",
    "auth.2fa_failed": "確認コードの誤り",
    "auth.2fa_enrolled": "2段階認証の設定",
    "auth.2fa_reset": "2段階認証のリセット",
    "auth.recovery_code_used": "リカバリーコードの使用",
    "auth.recovery_codes_new": "リカバリーコードの再作成",
    "auth.password_changed": "パスワードの変更",
    "auth.signout_all": "すべての端末からログアウト",
    "person.create": "登録者の追加",
    "person.update": "登録情報の更新",
    "person.add_entry": "医療情報の追加",
    "person.end_entry": "医療情報の終了",
    "person.add_contact": "緊急連絡先の追加",
    "person.remove_contact": "緊急連絡先の削除",
    "person.record_consent": "同意の記録",
    "person.withdraw_consent": "同意の撤回",
    "household.create": "世帯の登録",
    "household.update": "世帯情報の更新",
    "household.kit_delivered": "キット配布の記録",
    "card.issue": "カードの発行",
    "card.reissue": "カードの再発行",
    "card.revoke": "カードの失効",
    "audit.view": "アクセス記録の閲覧",
    "audit.search": "アクセス記録の検索",
    "audit.export": "アクセス記録のCSV出力",
    "audit.review": "アクセスの確認",
    "audit.verify": "改ざんの検査",
    "audit.archive": "アクセス記録の保管用書き出し",
    "key.rotate": "カード署名鍵の更新",
}
# Families of actions added by other parts (printing, exports…) read by their prefix.
PREFIXES = {"print.": "印刷", "export.": "データの書き出し", "import.": "一括取込", "scan.": "救急隊による読み取り"}

# What residents read: a sentence about what happened to their record.
RESIDENT_SENTENCES = {
    "person.view": "登録情報を見ました",
    "person.history": "変更の履歴を見ました",
    "household.view": "世帯の情報を見ました",
    "scan.view": "救急の現場でカードを読み取り、救急情報を見ました",
    "scan.offline": "通信圏外の救急現場でカードを読み取り、救急情報を見ました",
    "scan.verify": "カードが本物かを確認しました（情報は表示されていません）",
    "scan.destination": "搬送先の病院を記録しました",
    "card.issue": "カードを発行しました",
    "card.reissue": "カードを再発行しました",
    "card.revoke": "カードを使えなくしました",
}
# Actions that are about the log itself or sign-ins: not shown to residents and doctors.
OWN_LOG_ACTIONS = (
    "audit.view",
    "audit.search",
    "audit.export",
    "audit.review",
    "audit.verify",
    "audit.archive",
    "auth.login",
    "auth.login_failed",
    "auth.2fa_failed",
    "auth.2fa_enrolled",
    "auth.2fa_reset",
    "auth.recovery_code_used",
    "auth.recovery_codes_new",
    "auth.password_changed",
    "auth.signout_all",
    "person.search",
    "key.rotate",
)
OUTCOMES = {
    "ok": "成功",
    "refused": "拒否",
    "requested": "受付",
    "revoked": "失効カード",
    "forged": "偽造の疑い",
    "unregistered": "未登録",
    "not_found": "該当なし",
    "broken": "異常あり",
    "pending": "2段階目へ",
}


def action_label(action: str) -> str:
    if action in ACTIONS:
        return _(ACTIONS[action])
    for prefix, text in PREFIXES.items():
        if action.startswith(prefix):
            return _(text)
    return action


def outcome_label(outcome: str) -> str:
    return _(OUTCOMES[outcome]) if outcome in OUTCOMES else outcome


def organisation_of(event: AuditEvent) -> str:
    """The accountable organisation and the kind of person, without a personal name."""
    role = label("role", event.actor_role) if event.actor_role else _("システム")
    return f"{event.organisation}（{role}）" if event.organisation else role


def resident_sentence(event: AuditEvent) -> str:
    if event.outcome == "refused":
        return _("見ようとしましたが、権限がないため表示されませんでした")
    if event.action in RESIDENT_SENTENCES:
        return _(RESIDENT_SENTENCES[event.action])
    if event.action.startswith("print."):
        return _("書類やカードを印刷しました")
    return _("登録内容を更新しました")


def resident_reason(event: AuditEvent) -> str:
    """Why, in words a resident understands: the crew's reason and incident number, or the task."""
    if event.action.startswith("scan."):
        parts = []
        if event.emergency:
            parts.append(_("同意の記録がないため、命を守るための閲覧"))
        if event.purpose:
            parts.append(_("理由：%(reason)s", reason=event.purpose))
        parts.append(_("事案番号：%(number)s", number=event.incident) if event.incident else _("事案番号の記録なし"))
        return " / ".join(parts)
    if event.actor_role == "doctor":
        return _("主治医としての確認")
    if event.actor_role in ("staff", "admin"):
        return _("登録・カード発行などの事務")
    if event.actor_role == "resident":
        return _("ご本人・ご家族による確認")
    return event.purpose
